/**
 * `JsonFileRepository`, the class users call: its public API and what each method promises.
 * It checks the arguments, orders the calls on each key (write-queue.ts) and decides, per call,
 * what I/O is needed (none when the cache says the file already holds the value; a touch when
 * only the expiry moved; else a write). Below it, each call goes one way down:
 * - entry-files.ts: the files of one entry, the validated cache of them and their counters;
 * - earlier-stores.ts: the files of earlier stores (the `legacyFiles` option), consulted once
 *   after a read of the repository's own files;
 * - directory-walks.ts: what is done to the whole directory, one name at a time;
 * - directory.ts: creating and walking the directory;  format.ts: value <-> file text, and
 *   the forms an entry can be stored in (plain, encrypted under each key: encryption.ts).
 */
import fs from 'node:fs'
import path from 'node:path'
import { openDirectory } from './directory'
import { DirectoryGuard, trustedOwners } from './directory-checks'
import { DirectoryFiles } from './directory-files'
import { DirectoryWalks } from './directory-walks'
import { EarlierFiles } from './earlier-stores/earlier-files'
import { EntryFiles } from './entry-files'
import { JsonFileRepositoryError } from './errors'
import { expiryIsCurrent, isExpired, mtimeToExpiry, toExpiry } from './expiry'
import { signature } from './file-io'
import { announceFilesystem } from './filesystem'
import { serialize } from './format'
import {
  type JsonFileRepositoryOptions,
  type NormalizedOptions,
  normalizeOptions,
  show,
} from './options'
import type {
  EntryInfo,
  MigrationReport,
  RepositoryEntry,
  RepositoryStats,
  SetOptions,
} from './types'
import { WriteQueue } from './write-queue'

/** What `set` returns when it has nothing to do. */
const DONE = Promise.resolve(true)

/** What a queued set writes. */
interface Write {
  json: string
  expiresAt: number | undefined
  /** Only if the file exists: see `SetOptions.update`. */
  update: boolean
}

/**
 * A directory of JSON files, one per key, behind a promise API in `Map` vocabulary.
 *
 * - Writes are atomic (temp file + rename, fsync by default) and queued per key: concurrent
 *   `set`s to one key are coalesced and the last call wins.
 * - A bounded LRU cache holds serialized snapshots, each checked against the file's stat on
 *   every read, so another process's write or delete is seen on the next `get`.
 * - Keys are mapped to safe file names: no key reaches outside the directory.
 * - Expiry is kept in the file's modification time, so pruning never parses a file.
 *
 * @example
 * const users = new JsonFileRepository<{ name: string }>('./data/users')
 * await users.set('42', { name: 'Ada' })
 * await users.get('42') // { name: 'Ada' }
 */
export class JsonFileRepository<T = unknown> implements AsyncIterable<[string, T]> {
  /** The absolute path of the directory. */
  readonly directory: string
  readonly #options: NormalizedOptions
  readonly #queue = new WriteQueue<Write, boolean>()
  readonly #files: EntryFiles
  readonly #dir: DirectoryFiles
  /** With the `legacyFiles` option: the files of an earlier store, converted when met. */
  readonly #earlier: EarlierFiles | undefined
  readonly #walks: DirectoryWalks
  /**
   * Calls to `set` and `touch` that needed no I/O. Each other counter is kept where what it
   * counts is done: the cache, `#dir`, `#files`, `#walks` (see `stats()`).
   */
  #skipped = 0
  #timer: NodeJS.Timeout | undefined
  /** Whether the directory is on a network filesystem, once `statfs` said so at start-up. */
  #networkFilesystem = false
  /** The `prune()` calls under way (the timer's among them), which `close()` waits for. */
  readonly #prunes = new Set<Promise<number>>()
  #closed = false

  /**
   * Opens (and creates, with `directoryMode`, if it is missing and `readOnly` is not set) a
   * directory of JSON files. Never scans the directory: starting is constant time whatever it
   * holds. A symlink is followed: `directory` is then the real path, which is checked and used
   * from then on. Unless `allowSharedDirectory`, refuses a directory that another user could
   * write (see {@link JsonFileRepositoryOptions.allowSharedDirectory}).
   *
   * @param directory Path of the directory, relative to the working directory or absolute.
   * @throws {TypeError} When `directory` is not a non-empty string, or an option is invalid
   *   or unknown (the message suggests the closest known name).
   * @throws {JsonFileRepositoryError} `ERR_IO` when the directory cannot be created, or a file
   *   is where it should be; `ERR_UNSAFE_DIRECTORY` when it, or a parent, is not owned by this
   *   process's user or root, or is writable by group or others without the sticky bit, or
   *   when, unencrypted and not `readOnly`, it is readable by group or others (who could list
   *   the keys); encrypted or `readOnly`, that is only reported to the logger.
   */
  constructor(directory: string, options: JsonFileRepositoryOptions = {}) {
    if (typeof directory !== 'string' || directory === '') {
      throw new TypeError(`\`directory\` must be a non-empty string, got ${show(directory)}`)
    }
    this.#options = normalizeOptions(options)
    this.directory = openDirectory(path.resolve(directory), this.#options)
    const { allowSharedDirectory, readOnly, forms } = this.#options
    const guard = new DirectoryGuard(this.directory, {
      owners: allowSharedDirectory ? undefined : trustedOwners(),
      // Unencrypted, the names are the keys: where they are written, others must not list them.
      listable: forms[0].sealed || readOnly ? 'warn' : 'refuse',
      logger: this.#options.logger,
    })
    // Read-only, a missing directory is an empty one, with nothing to check.
    if (!readOnly || fs.existsSync(this.directory)) guard.check()
    const dir = new DirectoryFiles(this.directory, this.#options, guard)
    const queue = this.#queue
    this.#dir = dir
    this.#files = new EntryFiles(dir, this.#options, (key) => queue.busy(key))
    const { legacyFiles, maxFileSize } = this.#options
    this.#earlier =
      legacyFiles && new EarlierFiles(this.#files, dir, queue, legacyFiles, maxFileSize)
    const closed = () => this.#closed
    this.#walks = new DirectoryWalks(dir, this.#files, this.#earlier, queue, this.#options, closed)
    const { pruneInterval, logger } = this.#options
    // On a network filesystem, once known, a cached read checks its file in the thread pool.
    announceFilesystem(this.directory, logger).then((name) => {
      this.#networkFilesystem = name !== undefined
    })
    if (pruneInterval > 0) {
      this.#timer = setInterval(() => {
        this.prune().catch((error) => logger.error({ err: error }, 'prune failed'))
      }, pruneInterval).unref()
    }
  }

  /**
   * The path of the file that holds `key`.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY` when `key` cannot be stored.
   * @example repository.path('42') // '/srv/app/data/users/42.json'
   */
  path(key: string): string {
    return this.#files.fileOf(key)
  }

  /**
   * The value of `key`, a fresh copy on every call, or `undefined` when it is missing,
   * expired or corrupt (a corrupt file is moved aside, unless `readOnly`, and reported to the
   * logger).
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY`, `ERR_IO` (any failure but a missing file), `ERR_CLOSED`.
   * @example const user = await users.get('42')
   */
  async get(key: string): Promise<T | undefined> {
    return (await this.getEntry(key))?.value
  }

  /**
   * Like {@link get}, with the entry's expiry, size and change time.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY`, `ERR_IO`, `ERR_CLOSED`.
   */
  async getEntry(key: string): Promise<RepositoryEntry<T> | undefined> {
    const file = this.#open(key)
    const cached = this.#networkFilesystem
      ? await this.#files.validatedAsync(key, file)
      : this.#files.validated(key, file)
    if (cached === null) return undefined
    // An earlier store's file is looked for once the repository's own files have answered. A
    // cached entry with an expiry cannot stand for one (an in-place earlier file has none):
    // served at once, with no promise hop more, as most reads of a session store are.
    if (cached && (cached.expiresAt !== undefined || !this.#earlier)) {
      return this.#files.fromCache<T>(key, file, cached)
    }
    const found = cached
      ? await this.#files.fromCache<T>(key, file, cached)
      : await this.#files.load<T>(key, file)
    return this.#earlier ? this.#earlier.read(key, file, found) : (found ?? undefined)
  }

  /**
   * Whether `key` has a value that is not expired.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY`, `ERR_IO`, `ERR_CLOSED`.
   */
  async has(key: string): Promise<boolean> {
    return (await this.getEntry(key)) !== undefined
  }

  /**
   * Stores `value` under `key`, atomically. Does no I/O when the value and the expiry are
   * unchanged since this process last wrote or read them, and only moves the expiry when the
   * value is unchanged. Concurrent calls for one key are coalesced; the last call wins.
   * With `fsync`, resolves once the file and the directory are flushed.
   * @returns Whether the value is stored: `false` only when an `update` found no entry.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY`; `ERR_INVALID_VALUE` when JSON cannot
   * represent `value` or its JSON is larger than `maxFileSize` (nothing is written); `ERR_IO`;
   * `ERR_CLOSED`; `ERR_READ_ONLY`; `ERR_UNSAFE_DIRECTORY` when the directory was made again or
   * replaced since it was checked and no longer passes the checks of the constructor.
   * @throws {TypeError} When `expiresAt` is not a valid time.
   * @example await sessions.set(id, session, { expiresAt: Date.now() + 86_400_000 })
   */
  set(key: string, value: T, options: SetOptions = {}): Promise<boolean> {
    let json: string
    let expiresAt: number | undefined
    try {
      this.#assertWritable()
      expiresAt = toExpiry(options.expiresAt)
      json = serialize(key, value, this.#options.maxFileSize)
    } catch (error) {
      return Promise.reject(error)
    }
    // The commonest call of a session store: nothing changed. Only a key that was stored is
    // cached, so this needs neither the key's file nor any I/O, nor even a new object.
    if (!this.#queue.busy(key) && this.#isStored(key, json, expiresAt)) {
      this.#skipped++
      return DONE
    }
    return this.#set(key, { json, expiresAt, update: options.update === true })
  }

  async #set(key: string, write: Write): Promise<boolean> {
    const file = this.path(key)
    if (isExpired(write.expiresAt)) {
      await this.delete(key)
      return true
    }
    return this.#queue.set(key, write, (latest) => this.#commit(key, file, latest))
  }

  /** Whether the cache says the file already holds `json` with an expiry close enough. */
  #isStored(key: string, json: string, expiresAt: number | undefined): boolean {
    const cached = this.#files.cached(key)
    return (
      cached?.json === json &&
      expiryIsCurrent(cached.expiresAt, expiresAt, this.#options.touchAfter)
    )
  }

  /** Writes what a set asked for: nothing, a touch or the whole file, whichever is enough. */
  async #commit(key: string, file: string, write: Write): Promise<boolean> {
    const cached = this.#files.cached(key)
    if (cached?.json === write.json) {
      if (this.#isStored(key, write.json, write.expiresAt)) {
        this.#skipped++
        return true
      }
      if (await this.#files.touch(key, file, write.expiresAt, cached)) return true
    }
    // With `update`, a file that the touch found gone is not made again here either.
    return this.#files.write(key, file, write.json, write.expiresAt, { update: write.update })
  }

  /**
   * Moves the expiry of `key` without rewriting its content. Like `set`, does no I/O when the
   * cache says the file's expiry is already close enough (see `touchAfter`).
   * @param expiresAt Milliseconds since the epoch, a `Date`, or `undefined` for never. A time
   *   that has passed deletes the entry.
   * @returns Whether the key existed.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY`, `ERR_IO`, `ERR_CLOSED`, `ERR_READ_ONLY`.
   * @throws {TypeError} When `expiresAt` is not a valid time.
   */
  async touch(key: string, expiresAt: number | Date | undefined): Promise<boolean> {
    this.#assertWritable()
    const file = this.path(key)
    const expiry = toExpiry(expiresAt)
    if (isExpired(expiry)) return this.delete(key)
    // What express-session calls on every request that changed nothing in its session.
    const cached = this.#files.cached(key)
    if (
      cached &&
      !this.#queue.busy(key) &&
      expiryIsCurrent(cached.expiresAt, expiry, this.#options.touchAfter)
    ) {
      this.#skipped++
      return true
    }
    return this.#queue.run(key, () => this.#files.touch(key, file, expiry))
  }

  /**
   * Removes `key`. With `fsync`, resolves once the directory is flushed.
   * @returns Whether a file was removed.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY`, `ERR_IO`, `ERR_CLOSED`, `ERR_READ_ONLY`.
   */
  async delete(key: string): Promise<boolean> {
    this.#assertWritable()
    const file = this.path(key)
    // A set queued before this delete stays before it; one made after must queue after it.
    return this.#queue.run(key, async () => {
      // An earlier store's file left beside the entry would bring the deleted entry back.
      const earlier = (await this.#earlier?.remove(key)) ?? false
      return (await this.#files.remove(key, file)) || earlier
    })
  }

  /**
   * The keys that have a value that is not expired, streamed from the directory: memory stays
   * flat whatever it holds. Temp, quarantined and foreign files are skipped. With
   * `encryption`, names are hashes: each file is read and decrypted to learn its key (a file
   * no configured key opens is skipped).
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED` (from the iteration).
   */
  async *keys(): AsyncIterableIterator<string> {
    for await (const [key, file, stats] of this.#entries()) {
      if (!isExpired(mtimeToExpiry(stats.mtimeMs))) yield key
      else await this.#files.missExpired(key, file, signature(stats))
    }
  }

  /**
   * `[key, value]` pairs of every entry that is not expired, streamed like {@link keys}.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED` (from the iteration).
   */
  async *entries(): AsyncIterableIterator<[string, T]> {
    for await (const key of this.keys()) {
      const entry = await this.getEntry(key)
      if (entry) yield [key, entry.value]
    }
  }

  /** Same as {@link entries}. */
  [Symbol.asyncIterator](): AsyncIterableIterator<[string, T]> {
    return this.entries()
  }

  /**
   * Removes every entry, in every form: also the files no key of this configuration reads (the
   * unencrypted ones when encrypted, those of a key no longer configured, legacy files not yet
   * converted), which a later configuration would read. Foreign and quarantined files are left
   * alone.
   * @returns How many files were removed.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`, `ERR_READ_ONLY`.
   */
  async clear(): Promise<number> {
    this.#assertWritable()
    let removed = 0
    // keys(), not every entry-like name: a directory or symlink there is not an entry to count.
    for await (const key of this.keys()) if (await this.delete(key)) removed++
    return removed + (await this.#walks.clearLeftovers())
  }

  /**
   * Removes the files of expired entries, deciding from `stat` alone (no file is opened),
   * temp files left by writers that crashed (counted apart: `stats().tempFilesRemoved`), and
   * files moved aside more than 7 days before (`stats().quarantinedRemoved`): they may hold
   * plaintext, and their name the key.
   * @returns How many expired entries were removed.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`, `ERR_READ_ONLY`.
   */
  prune(): Promise<number> {
    try {
      this.#assertWritable()
    } catch (error) {
      return Promise.reject(error)
    }
    const pruning = this.#walks.prune()
    this.#prunes.add(pruning)
    const forget = () => this.#prunes.delete(pruning)
    pruning.then(forget, forget)
    return pruning
  }

  /**
   * Converts every legacy file (see the `legacyFiles` option) into an entry now, rather than
   * when each is met: for a deployment that wants the directory upgraded at once. Idempotent,
   * and safe while other processes use the directory (see the option for what a conversion does).
   * @returns How many files were converted, left behind by an entry that already had a current
   *   file (and removed), expired (and removed), and moved aside as corrupt.
   * @throws {TypeError} Without the `legacyFiles` option.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  async migrate(): Promise<MigrationReport> {
    this.#assertOpen()
    if (this.#earlier === undefined) {
      throw new TypeError('`migrate()` needs the `legacyFiles` option')
    }
    return this.#walks.migrate(this.#earlier)
  }

  /**
   * What `stat` tells of each entry (key, size, expiry, change time), streamed like
   * {@link keys}, without opening any file (but, with `encryption`, to learn its key) and
   * without removing anything: for tools that list a directory, such as the command line.
   * @param options.expired `true` for only the expired entries (that every other method skips
   * and removes), `false` for only the live ones. Both by default.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED` (from the iteration).
   * @example for await (const { key, expiresAt } of sessions.list({ expired: true })) console.log(key)
   */
  async *list(options: { expired?: boolean } = {}): AsyncIterableIterator<EntryInfo> {
    const now = Date.now()
    for await (const [key, , stats] of this.#entries()) {
      const expiresAt = mtimeToExpiry(stats.mtimeMs)
      if (options.expired !== undefined && isExpired(expiresAt, now) !== options.expired) continue
      yield { key, expiresAt, size: stats.size, changedAt: Math.round(stats.ctimeMs) }
    }
  }

  /**
   * Moves every entry stored in another form than the one this repository writes to it: the
   * files of previous encryption keys (after a rotation), and during a `transition` the
   * unencrypted files (`'encrypting'`) or the encrypted ones (`'decrypting'`). Each keeps its
   * expiry; a file written meanwhile in the current form is newer and is kept; an old file is
   * removed only if unchanged since it was read. Safe while servers use the directory, and
   * idempotent: a second run moves nothing.
   * @returns How many entries were moved.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`, `ERR_READ_ONLY`.
   * @example await new JsonFileRepository(dir, { encryption: { keys: [key], transition: 'encrypting' } }).rekey()
   */
  rekey(): Promise<number> {
    try {
      this.#assertWritable()
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#walks.rekey()
  }

  /**
   * Counters since the repository was created, and the cache's size now.
   */
  stats(): RepositoryStats {
    const walks = this.#walks.stats()
    return { ...this.#files.stats(), ...this.#dir.stats(), skipped: this.#skipped, ...walks }
  }

  /**
   * Stops the prune timer, refuses further calls with `ERR_CLOSED`, and waits for the writes
   * and the prune under way (a prune stops at the next file): once it resolves, the
   * repository touches no file. Calling it again does nothing.
   * @throws Never: a write or prune that fails has already rejected its own promise.
   */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    await this.#queue.idle()
    await Promise.allSettled(this.#prunes)
  }

  #assertOpen(): void {
    if (this.#closed) {
      // No path, in the message or `file`: it may reach an HTTP response or a log.
      throw new JsonFileRepositoryError('ERR_CLOSED', 'The repository is closed')
    }
  }

  #assertWritable(): void {
    this.#assertOpen()
    if (this.#options.readOnly) {
      throw new JsonFileRepositoryError('ERR_READ_ONLY', 'The repository was opened read-only')
    }
  }

  #entries(): AsyncIterableIterator<[string, string, fs.Stats]> {
    this.#assertOpen()
    return this.#walks.entries()
  }

  /** The file of `key`, after checking the key and that the repository is open. */
  #open(key: string): string {
    this.#assertOpen()
    return this.path(key)
  }
}

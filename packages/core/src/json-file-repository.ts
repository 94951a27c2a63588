import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { LRUCache } from 'lru-cache'
import { errorCode, JsonFileRepositoryError } from './errors'
import { expiryToMtime, isExpired, mtimeToExpiry } from './expiry'
import {
  close,
  fstat,
  futimes,
  lstat,
  open,
  READ_FLAGS,
  readRegularFile,
  rename,
  type Signature,
  sameSignature,
  signature,
  unlink,
  writeFileAtomic,
} from './file-io'
import {
  fileNameToKey,
  invalidKeyReason,
  keyToFileName,
  quarantineFileName,
  tempFileName,
  tempFileWriter,
} from './keys'
import {
  type JsonFileRepositoryOptions,
  type NormalizedOptions,
  normalizeOptions,
  show,
} from './options'

/** Options of {@link JsonFileRepository.set}. */
export interface SetOptions {
  /**
   * When the entry expires, in milliseconds since the epoch or as a `Date`. An entry that
   * has expired is a miss everywhere and its file is removed. A time that has already passed
   * deletes the entry.
   * @default never
   */
  expiresAt?: number | Date
}

/** An entry with what is known of its file. */
export interface RepositoryEntry<T> {
  key: string
  value: T
  /** Expiry in milliseconds since the epoch, `undefined` for never. */
  expiresAt: number | undefined
  /** Size of the file in bytes. */
  size: number
  /** Last time the file was written or its expiry moved, in milliseconds since the epoch. */
  changedAt: number
}

/** Counters since the repository was created. */
export interface RepositoryStats {
  /** Reads answered from the cache after checking the file's stat. */
  hits: number
  /** Reads that opened and parsed the file. */
  misses: number
  /** Files written (temp file + rename). */
  writes: number
  /** Expiries moved without rewriting the content. */
  touches: number
  /** Calls to `set` that needed no I/O because nothing changed. */
  skipped: number
  /** Files removed by `delete`, `clear`, expiry or `prune`. */
  deletes: number
  /** Corrupt or foreign files moved aside. */
  quarantined: number
  /** Entries in the cache now. */
  cacheEntries: number
  /** Bytes counted in the cache now. */
  cacheBytes: number
}

interface Snapshot {
  json: string
  signature: Signature
  expiresAt: number | undefined
}

interface PendingSet {
  json: string
  expiresAt: number | undefined
  done?: Promise<void>
}

/**
 * Heap bytes an entry takes besides its JSON (the LRU's slots, the snapshot, its signature),
 * as measured on Node 20, so that `cache.maxBytes` bounds the heap the cache really uses.
 */
const ENTRY_OVERHEAD = 280
/** What `set` returns when it has nothing to do. */
const DONE = Promise.resolve()
/** How many files `prune()` stats or removes at once. */
const PRUNE_CONCURRENCY = 32
/** A temp file older than this is stale whoever wrote it. */
const TEMP_MAX_AGE = 60 * 60 * 1000
/** A temp file younger than this is never touched, so a writer that just started is safe. */
const TEMP_MIN_AGE = 1000

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
  readonly #cache: LRUCache<string, Snapshot> | undefined
  /** Tail of the operation queue of each key that has one running. */
  readonly #queues = new Map<string, Promise<void>>()
  /** The `set` of each key that is queued and not started yet: later sets replace its value. */
  readonly #pending = new Map<string, PendingSet>()
  /** Temp files this instance is writing now, so that `prune()` never removes them. */
  readonly #writing = new Set<string>()
  readonly #tempPrefix = randomBytes(4).toString('hex')
  readonly #chmod: boolean
  /** The directory with a trailing separator: the path of a file is this plus its name. */
  readonly #prefix: string
  #tempCounter = 0
  #timer: NodeJS.Timeout | undefined
  /** The `prune()` calls under way (the timer's among them), which `close()` waits for. */
  readonly #prunes = new Set<Promise<number>>()
  #closed = false
  #warnedClampedTimes = false
  readonly #counters = {
    hits: 0,
    misses: 0,
    writes: 0,
    touches: 0,
    skipped: 0,
    deletes: 0,
    quarantined: 0,
  }

  /**
   * Opens (and creates, with `directoryMode`, if it is missing) a directory of JSON files.
   * Never scans the directory: starting is constant time whatever it holds.
   *
   * @param directory Path of the directory, relative to the working directory or absolute.
   * @throws {TypeError} When `directory` is not a non-empty string, or an option is invalid
   *   or unknown (the message suggests the closest known name).
   * @throws {JsonFileRepositoryError} `ERR_IO` when the directory cannot be created, or a file
   *   is where it should be.
   */
  constructor(directory: string, options: JsonFileRepositoryOptions = {}) {
    if (typeof directory !== 'string' || directory === '') {
      throw new TypeError(`\`directory\` must be a non-empty string, got ${show(directory)}`)
    }
    this.#options = normalizeOptions(options)
    this.directory = path.resolve(directory)
    this.#prefix = path.join(this.directory, path.sep)
    const { cache, fileMode, pruneInterval } = this.#options
    if (cache) {
      this.#cache = new LRUCache({
        max: cache.maxEntries,
        maxSize: cache.maxBytes,
        sizeCalculation: (snapshot) => snapshot.json.length + ENTRY_OVERHEAD,
      })
    }
    // The umask narrows the mode given to open(); only then is an explicit chmod needed.
    this.#chmod = (fileMode & process.umask()) !== 0
    try {
      this.#makeDirectory()
    } catch (error) {
      // mkdir says EEXIST when a file is in the way: say what is wrong.
      const isFile =
        errorCode(error) === 'EEXIST' &&
        fs.statSync(this.directory, { throwIfNoEntry: false })?.isDirectory() === false
      throw new JsonFileRepositoryError(
        'ERR_IO',
        isFile
          ? `${this.directory} is a file, not a directory`
          : `Cannot create the directory ${this.directory}: ${(error as Error).message}`,
        { file: this.directory, cause: error },
      )
    }
    if (pruneInterval > 0) {
      this.#timer = setInterval(() => {
        this.prune().catch((error) => this.#options.logger.error({ err: error }, 'prune failed'))
      }, pruneInterval).unref()
    }
  }

  /**
   * The path of the file that holds `key`.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY` when `key` cannot be stored.
   * @example repository.path('42') // '/srv/app/data/users/42.json'
   */
  path(key: string): string {
    const reason = invalidKeyReason(key)
    const name = reason === undefined ? keyToFileName(key) : undefined
    if (name === undefined) {
      throw new JsonFileRepositoryError(
        'ERR_INVALID_KEY',
        `Invalid key ${showKey(key)}: ${reason ?? 'too long for a file name'}`,
        typeof key === 'string' ? { key } : {},
      )
    }
    // keyToFileName never yields a separator, `.` or `..`; this states the guarantee once more.
    if (name.includes('/') || name.includes('\\')) {
      throw new Error(`Key escaped the directory: ${name}`)
    }
    return this.#prefix + name
  }

  /**
   * The value of `key`, a fresh copy on every call, or `undefined` when it is missing,
   * expired or corrupt (a corrupt file is moved aside and reported to the logger).
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
    const cached = this.#cache?.get(key)
    if (cached) {
      // A synchronous lstat: about 1 µs of the event loop on a local disk, where the thread
      // pool's round trip costs five times that in CPU, and this is the path of most reads.
      let stats: fs.Stats | undefined
      try {
        stats = fs.lstatSync(file, { throwIfNoEntry: false })
      } catch (error) {
        throw ioError('read', key, file, error)
      }
      if (stats === undefined) {
        this.#cache?.delete(key)
        return undefined
      }
      if (sameSignature(stats, cached.signature)) {
        this.#counters.hits++
        if (isExpired(cached.expiresAt)) return this.#missExpired(key, file, cached.signature)
        return toEntry(key, JSON.parse(cached.json), cached)
      }
    }
    this.#counters.misses++
    return this.#load(key, file)
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
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY`; `ERR_INVALID_VALUE` when JSON cannot
   * represent `value` (nothing is written); `ERR_IO`; `ERR_CLOSED`.
   * @throws {TypeError} When `expiresAt` is not a valid time.
   * @example await sessions.set(id, session, { expiresAt: Date.now() + 86_400_000 })
   */
  set(key: string, value: T, options: SetOptions = {}): Promise<void> {
    let json: string
    let expiresAt: number | undefined
    try {
      this.#assertOpen()
      expiresAt = toExpiry(options.expiresAt)
      json = serialize(key, value)
    } catch (error) {
      return Promise.reject(error)
    }
    // The commonest call of a session store: nothing changed. Only a key that was stored is
    // cached, so this needs neither the key's file nor any I/O, nor even a new promise.
    if (!this.#queues.has(key) && this.#isStored(key, json, expiresAt)) {
      this.#counters.skipped++
      return DONE
    }
    return this.#set(key, json, expiresAt)
  }

  async #set(key: string, json: string, expiresAt: number | undefined): Promise<void> {
    const file = this.path(key)
    if (isExpired(expiresAt)) {
      await this.delete(key)
      return
    }
    const pending = this.#pending.get(key)
    if (pending) {
      pending.json = json
      pending.expiresAt = expiresAt
      return pending.done
    }
    const next: PendingSet = { json, expiresAt }
    this.#pending.set(key, next)
    next.done = this.#enqueue(key, () => {
      this.#pending.delete(key)
      return this.#commit(key, file, next.json, next.expiresAt)
    })
    return next.done
  }

  /**
   * Moves the expiry of `key` without rewriting its content.
   * @param expiresAt Milliseconds since the epoch, a `Date`, or `undefined` for never. A time
   *   that has passed deletes the entry.
   * @returns Whether the key existed.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY`, `ERR_IO`, `ERR_CLOSED`.
   * @throws {TypeError} When `expiresAt` is not a valid time.
   */
  async touch(key: string, expiresAt: number | Date | undefined): Promise<boolean> {
    const file = this.#open(key)
    const expiry = toExpiry(expiresAt)
    if (isExpired(expiry)) return this.delete(key)
    this.#pending.delete(key)
    return this.#enqueue(key, () => this.#touch(key, file, expiry))
  }

  /**
   * Removes `key`.
   * @returns Whether a file was removed.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY`, `ERR_IO`, `ERR_CLOSED`.
   */
  async delete(key: string): Promise<boolean> {
    const file = this.#open(key)
    // A set queued before this delete stays before it; one made after must queue after it.
    this.#pending.delete(key)
    return this.#enqueue(key, async () => {
      this.#cache?.delete(key)
      try {
        await unlink(file)
      } catch (error) {
        const code = errorCode(error)
        if (code === 'ENOENT') return false
        if (code !== 'EISDIR' && code !== 'EPERM') throw ioError('delete', key, file, error)
        await this.#quarantine(key, file, 'a directory')
        return true
      }
      this.#counters.deletes++
      return true
    })
  }

  /**
   * The keys that have a value that is not expired, streamed from the directory: memory stays
   * flat whatever it holds. Temp, quarantined and foreign files are skipped.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED` (from the iteration).
   */
  async *keys(): AsyncIterableIterator<string> {
    for await (const [key, file, stats] of this.#stats()) {
      if (!isExpired(mtimeToExpiry(stats.mtimeMs))) yield key
      else await this.#missExpired(key, file, signature(stats))
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
   * Removes every entry. Foreign and quarantined files are left alone.
   * @returns How many entries were removed.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  async clear(): Promise<number> {
    let removed = 0
    // keys(), not every entry-like name: a directory or symlink there is not an entry to count.
    for await (const key of this.keys()) if (await this.delete(key)) removed++
    return removed
  }

  /**
   * Removes the files of expired entries, deciding from `stat` alone (no file is opened),
   * and temp files left by writers that crashed.
   * @returns How many expired entries were removed.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  prune(): Promise<number> {
    try {
      this.#assertOpen()
    } catch (error) {
      return Promise.reject(error)
    }
    const pruning = this.#prune()
    this.#prunes.add(pruning)
    const forget = () => this.#prunes.delete(pruning)
    pruning.then(forget, forget)
    return pruning
  }

  async #prune(): Promise<number> {
    const now = Date.now()
    const names = this.#names()
    // Workers that share one directory stream keep PRUNE_CONCURRENCY files in flight.
    const worker = async () => {
      let removed = 0
      for await (const name of names) {
        // close() is waiting: stop here rather than walk the rest of the directory.
        if (this.#closed) break
        const key = fileNameToKey(name)
        const file = this.#prefix + name
        if (key !== undefined) removed += Number(await this.#pruneEntry(key, file, now))
        else if (tempFileWriter(name) !== undefined) await this.#pruneTemp(name, file, now)
      }
      return removed
    }
    const counts = await Promise.all(Array.from({ length: PRUNE_CONCURRENCY }, worker))
    return counts.reduce((sum, removed) => sum + removed, 0)
  }

  /**
   * Counters since the repository was created, and the cache's size now.
   */
  stats(): RepositoryStats {
    return {
      ...this.#counters,
      cacheEntries: this.#cache?.size ?? 0,
      cacheBytes: this.#cache?.calculatedSize ?? 0,
    }
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
    while (this.#queues.size > 0 || this.#prunes.size > 0) {
      await Promise.allSettled([...this.#queues.values(), ...this.#prunes])
    }
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new JsonFileRepositoryError('ERR_CLOSED', `The repository ${this.directory} is closed`)
    }
  }

  /** The file of `key`, after checking the key and that the repository is open. */
  #open(key: string): string {
    this.#assertOpen()
    return this.path(key)
  }

  /** Runs `task` after every operation already queued for `key`. */
  #enqueue<R>(key: string, task: () => Promise<R>): Promise<R> {
    const previous = this.#queues.get(key)
    const result = previous ? previous.then(task) : task()
    const tail = result.then(
      () => {},
      () => {},
    )
    this.#queues.set(key, tail)
    tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key)
    })
    return result
  }

  /** Whether the cache says the file already holds `json` with an expiry close enough. */
  #isStored(key: string, json: string, expiresAt: number | undefined): boolean {
    const cached = this.#cache?.get(key)
    return cached?.json === json && this.#expiryIsCurrent(cached.expiresAt, expiresAt)
  }

  /**
   * Whether a stored expiry may stand for a wanted one: the same, or (with `touchAfter`) a
   * little earlier, by less than `touchAfter` and less than half of the remaining lifetime, so
   * that an entry kept alive by frequent sets never expires for want of a touch.
   */
  #expiryIsCurrent(stored: number | undefined, wanted: number | undefined): boolean {
    if (stored === wanted) return true
    if (stored === undefined || wanted === undefined || wanted < stored) return false
    return wanted - stored < Math.min(this.#options.touchAfter, (wanted - Date.now()) / 2)
  }

  async #commit(key: string, file: string, json: string, expiresAt: number | undefined) {
    const cached = this.#cache?.get(key)
    if (cached?.json === json) {
      if (this.#expiryIsCurrent(cached.expiresAt, expiresAt)) {
        this.#counters.skipped++
        return
      }
      if (await this.#touch(key, file, expiresAt, cached)) return
    }
    await this.#write(key, file, json, expiresAt)
  }

  async #write(key: string, file: string, json: string, expiresAt: number | undefined) {
    // Until the write is done the cache must not answer for this key.
    this.#cache?.delete(key)
    const name = path.basename(file)
    const options = {
      mode: this.#options.fileMode,
      chmod: this.#chmod,
      mtime: expiryToMtime(expiresAt),
      fsync: this.#options.fsync,
    }
    for (let attempt = 1; ; attempt++) {
      const temp = this.#prefix + tempFileName(name, this.#nextTempId())
      this.#writing.add(temp)
      try {
        const stats = await writeFileAtomic(file, temp, json, options)
        this.#counters.writes++
        const stored = mtimeToExpiry(stats.mtimeMs)
        if (expiresAt !== undefined && stored !== expiresAt) this.#warnClampedTimes(file)
        // The expiry the file holds: it differs from `expiresAt` only where times are clamped.
        this.#cache?.set(key, { json, signature: signature(stats), expiresAt: stored })
        return
      } catch (error) {
        const code = errorCode(error)
        if (attempt > 1 || (code !== 'ENOENT' && code !== 'EISDIR')) {
          throw ioError('write', key, file, error)
        }
        // The directory was removed under us: make it again. A directory sits where the file
        // goes: move it aside. Either way, try once more.
        if (code === 'ENOENT') {
          try {
            this.#makeDirectory()
          } catch (error) {
            throw ioError('write', key, file, error)
          }
        } else await this.#quarantine(key, file, 'a directory')
      } finally {
        this.#writing.delete(temp)
      }
    }
  }

  /**
   * Creates the directory with `directoryMode` if it is missing: in the constructor, and when
   * it was removed while running (rare enough for the synchronous calls).
   */
  #makeDirectory(): void {
    const { directoryMode } = this.#options
    const created = fs.mkdirSync(this.directory, { recursive: true, mode: directoryMode })
    // As for files: only when the umask narrowed the mode is an explicit chmod needed.
    if (created !== undefined && (directoryMode & process.umask()) !== 0) {
      fs.chmodSync(this.directory, directoryMode)
    }
  }

  /** Reports once that this filesystem cannot hold the times that store expiries. */
  #warnClampedTimes(file: string): void {
    if (this.#warnedClampedTimes) return
    this.#warnedClampedTimes = true
    this.#options.logger.error(
      { file },
      `The filesystem of ${this.directory} cannot store modification times after 2200, where expiries are kept: entries there will not expire`,
    )
  }

  #nextTempId(): string {
    this.#tempCounter = (this.#tempCounter + 1) % 0x100000000
    return this.#tempPrefix + this.#tempCounter.toString(16)
  }

  /**
   * Moves the expiry of the file of `key`. With `expected`, only when the file is still the
   * version cached (else resolves to `false` and the caller writes the whole value).
   */
  async #touch(
    key: string,
    file: string,
    expiresAt: number | undefined,
    expected?: Snapshot,
  ): Promise<boolean> {
    let fd: number
    try {
      fd = await open(file, READ_FLAGS)
    } catch (error) {
      const code = errorCode(error)
      if (code === 'ENOENT' || code === 'ELOOP') return false
      throw ioError('touch', key, file, error)
    }
    try {
      const before = await fstat(fd)
      if (!before.isFile()) return false
      const cached = expected ?? this.#cache?.get(key)
      const current = cached !== undefined && sameSignature(before, cached.signature)
      if (expected && !current) return false
      const mtime = expiryToMtime(expiresAt)
      await futimes(fd, mtime, mtime)
      // Stats of this very inode: if another process has replaced the file meanwhile, the
      // signature cached here does not match the new file and the next get reads it.
      const after = await fstat(fd)
      const expiry = { signature: signature(after), expiresAt: mtimeToExpiry(after.mtimeMs) }
      if (current) this.#cache?.set(key, { ...cached, ...expiry })
      else this.#cache?.delete(key)
      this.#counters.touches++
      return true
    } catch (error) {
      throw ioError('touch', key, file, error)
    } finally {
      await close(fd).catch(() => {})
    }
  }

  /** Reads, checks and caches the file of `key`. */
  async #load(key: string, file: string): Promise<RepositoryEntry<T> | undefined> {
    let result: Awaited<ReturnType<typeof readRegularFile>>
    try {
      result = await readRegularFile(file)
    } catch (error) {
      throw ioError('read', key, file, error)
    }
    if (result === undefined) {
      this.#cache?.delete(key)
      return undefined
    }
    if ('notAFile' in result) {
      await this.#quarantine(key, file, result.notAFile)
      return undefined
    }
    const { text, stats } = result
    const snapshot: Snapshot = {
      json: text,
      signature: signature(stats),
      expiresAt: mtimeToExpiry(stats.mtimeMs),
    }
    if (isExpired(snapshot.expiresAt)) return this.#missExpired(key, file, snapshot.signature)
    let value: T
    try {
      value = JSON.parse(text)
    } catch {
      await this.#quarantine(key, file, text === '' ? 'an empty file' : 'invalid JSON', stats.ino)
      return undefined
    }
    this.#cache?.set(key, snapshot)
    return toEntry(key, value, snapshot)
  }

  /**
   * Removes the file of an expired entry, unless a write for the key is under way or the file
   * changed since it was seen expired (another process may have just renewed it).
   * @returns Whether it removed the file.
   */
  async #removeExpired(key: string, file: string, seen: Signature): Promise<boolean> {
    this.#cache?.delete(key)
    try {
      if (!sameSignature(await lstat(file), seen)) return false
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('delete', key, file, error)
    }
    return this.#unlinkExpired(key, file)
  }

  /** Removes the file of an entry just seen expired, unless a write for it is under way. */
  async #unlinkExpired(key: string, file: string): Promise<boolean> {
    this.#cache?.delete(key)
    if (this.#queues.has(key)) return false
    try {
      await unlink(file)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('delete', key, file, error)
    }
    this.#counters.deletes++
    return true
  }

  /**
   * A read met an expired entry: it is a miss whether or not its file can be removed now (on a
   * read-only filesystem it cannot; `prune()` reports that).
   */
  async #missExpired(key: string, file: string, seen: Signature): Promise<undefined> {
    await this.#removeExpired(key, file, seen).catch((error) => {
      this.#options.logger.debug?.({ err: error, key, file }, 'cannot remove an expired entry')
    })
    return undefined
  }

  /** Moves a file that holds no valid entry aside, beside it, and reports it. */
  async #quarantine(key: string, file: string, what: string, ino?: number): Promise<void> {
    this.#cache?.delete(key)
    const aside = this.#prefix + quarantineFileName(path.basename(file))
    try {
      // Not if another writer has replaced the bad file with a good one since we read it.
      if (ino !== undefined && (await lstat(file)).ino !== ino) return
      await rename(file, aside)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return
      throw ioError('move aside', key, file, error)
    }
    this.#counters.quarantined++
    const error = new JsonFileRepositoryError(
      'ERR_CORRUPT_FILE',
      `The file of key ${showKey(key)} (${file}) is ${what}; it was moved to ${aside}`,
      { key, file },
    )
    this.#options.logger.warn({ err: error, key, file, movedTo: aside }, error.message)
  }

  /** Names in the directory, streamed (`opendir`), none if the directory is gone. */
  async *#names(): AsyncIterableIterator<string> {
    let directory: fs.Dir
    try {
      directory = await fs.promises.opendir(this.directory, { bufferSize: 128 })
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return
      throw ioError('list', '', this.directory, error)
    }
    try {
      for await (const dirent of directory) yield dirent.name
    } catch (error) {
      throw ioError('list', '', this.directory, error)
    }
  }

  /** `[key, file]` of every name in the directory that is an entry's file. */
  async *#files(): AsyncIterableIterator<[string, string]> {
    this.#assertOpen()
    for await (const name of this.#names()) {
      const key = fileNameToKey(name)
      if (key !== undefined) yield [key, this.#prefix + name]
    }
  }

  async #pruneEntry(key: string, file: string, now: number): Promise<boolean> {
    if (this.#queues.has(key)) return false
    let stats: fs.Stats
    try {
      stats = await lstat(file)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('prune', key, file, error)
    }
    if (!stats.isFile() || !isExpired(mtimeToExpiry(stats.mtimeMs), now)) return false
    return this.#unlinkExpired(key, file)
  }

  /**
   * Removes a temp file left by a writer that crashed: one of this process that is not being
   * written, one whose writing process is gone, or any older than an hour. Never one younger
   * than a second.
   */
  async #pruneTemp(name: string, file: string, now: number): Promise<void> {
    if (this.#writing.has(file)) return
    try {
      const age = now - (await lstat(file)).ctimeMs
      const writer = tempFileWriter(name) as number
      const stale =
        age > TEMP_MAX_AGE ||
        (age > TEMP_MIN_AGE && (writer === process.pid || !processExists(writer)))
      if (stale) await unlink(file)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw ioError('prune', '', file, error)
    }
  }

  /**
   * What `stat` tells of each entry (key, size, expiry, change time), streamed like
   * {@link keys}, without opening any file and without removing anything: for tools that list
   * a directory, such as the command line.
   * @param options.expired `true` for only the expired entries (that every other method skips
   * and removes), `false` for only the live ones. Both by default.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED` (from the iteration).
   * @example for await (const { key, expiresAt } of sessions.list({ expired: true })) console.log(key)
   */
  async *list(
    options: { expired?: boolean } = {},
  ): AsyncIterableIterator<Omit<RepositoryEntry<T>, 'value'>> {
    const now = Date.now()
    for await (const [key, , stats] of this.#stats()) {
      const expiresAt = mtimeToExpiry(stats.mtimeMs)
      if (options.expired !== undefined && isExpired(expiresAt, now) !== options.expired) continue
      yield { key, expiresAt, size: stats.size, changedAt: Math.round(stats.ctimeMs) }
    }
  }

  /** `[key, file, stats]` of every entry's regular file, streamed. */
  async *#stats(): AsyncIterableIterator<[string, string, fs.Stats]> {
    for await (const [key, file] of this.#files()) {
      let stats: fs.Stats
      try {
        stats = await lstat(file)
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue
        throw ioError('read', key, file, error)
      }
      if (stats.isFile()) yield [key, file, stats]
    }
  }
}

function toEntry<T>(key: string, value: T, snapshot: Snapshot): RepositoryEntry<T> {
  const { size, ctimeMs } = snapshot.signature
  return { key, value, expiresAt: snapshot.expiresAt, size, changedAt: Math.round(ctimeMs) }
}

function serialize(key: string, value: unknown): string {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (error) {
    throw new JsonFileRepositoryError(
      'ERR_INVALID_VALUE',
      `Cannot store key ${showKey(key)}: ${(error as Error).message}`,
      { key, cause: error },
    )
  }
  if (json === undefined) {
    throw new JsonFileRepositoryError(
      'ERR_INVALID_VALUE',
      `Cannot store key ${showKey(key)}: ${typeof value} has no JSON representation`,
      { key },
    )
  }
  return json
}

function toExpiry(expiresAt: number | Date | undefined): number | undefined {
  if (expiresAt === undefined) return undefined
  const time = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt
  if (typeof time !== 'number' || !Number.isFinite(time)) {
    throw new TypeError(
      `\`expiresAt\` must be a Date or a number of milliseconds, got ${String(expiresAt)}`,
    )
  }
  return Math.round(time)
}

function ioError(operation: string, key: string, file: string, cause: unknown) {
  const what = key === '' ? file : `key ${showKey(key)} (${file})`
  return new JsonFileRepositoryError(
    'ERR_IO',
    `Cannot ${operation} ${what}: ${(cause as Error).message}`,
    { key, file, cause },
  )
}

/** A key as it can be shown in a message: quoted, escaped and shortened. */
function showKey(key: unknown): string {
  // Not String(key) for a non-string: it throws for an object without a prototype.
  const text = typeof key === 'string' ? key : `<${typeof key}>`
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === 'EPERM'
  }
}

/**
 * An entry's files and what is known of them: the I/O on the files of one entry (read, write,
 * move its expiry, remove, move aside a file that holds no entry), through `DirectoryFiles`,
 * and the validated cache of what each entry's current file holds, of which this is the only
 * owner (every read or write updates it as it sees the file). The repository decides which
 * call a `set` needs; this decides how a call is done on the files:
 * - which of an entry's forms to read (format.ts): the current one, then the previous ones
 *   (files of previous encryption keys, and the other of plain and encrypted during a
 *   transition), sealed ones first; a write or a delete removes the other forms;
 * - a write retried once where the directory was removed or a directory stands in its place;
 * - an expired file removed only while no write for its key is under way.
 */
import type fs from 'node:fs'
import path from 'node:path'
import type { DirectoryFiles } from './directory-files'
import { errorCode, ioError, JsonFileRepositoryError } from './errors'
import { expiryToMtime, isExpired, mtimeToExpiry } from './expiry'
import {
  allOf,
  type Check,
  close,
  filesExist,
  fstat,
  fsync,
  futimes,
  open,
  READ_FLAGS,
  type Signature,
  sameSignature,
  signature,
  stillSame,
} from './file-io'
import { expiryOf, type Form, nameOf, type Payload, parse, plainForm, readOrder } from './format'
import type { NormalizedOptions } from './options'
import { type Snapshot, SnapshotCache } from './snapshot-cache'
import type { RepositoryEntry, RepositoryStats } from './types'

export class EntryFiles {
  readonly #options: NormalizedOptions
  /** The I/O on the directory's files, by path (which counts the writes, deletes...). */
  readonly #dir: DirectoryFiles
  /** The only cache of entries (which counts its hits and misses). */
  readonly #cache: SnapshotCache
  /** Expiries moved without rewriting the content (see `RepositoryStats.touches`). */
  #touches = 0
  /** Whether a write for a key is queued or running: expired files are then left alone. */
  readonly #busy: (key: string) => boolean
  /** The forms in the order reads try them (see `readOrder`). */
  readonly #readOrder: Form[]

  constructor(dir: DirectoryFiles, options: NormalizedOptions, busy: (key: string) => boolean) {
    this.#options = options
    this.#dir = dir
    this.#cache = new SnapshotCache(options.cache)
    this.#busy = busy
    this.#readOrder = readOrder(options.forms)
  }

  /**
   * The path of the file of `key` in the form entries are written in.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY` when `key` cannot be stored.
   */
  fileOf(key: string): string {
    return this.#dir.file(nameOf(this.#options.forms[0], key))
  }

  /**
   * The snapshot of `key` in the cache if its current file, `file`, is still that version
   * (checked with `lstat`, or less often with `revalidateAfter`); `undefined` when the file must
   * be read; `null` when it is gone (see `SnapshotCache.validated`).
   * @throws {JsonFileRepositoryError} `ERR_IO` when the file cannot be checked.
   */
  validated(key: string, file: string): Snapshot | null | undefined {
    try {
      return this.#cache.validated(key, file)
    } catch (error) {
      throw ioError('read', key, file, error)
    }
  }

  /**
   * {@link validated} with the `lstat` in the thread pool (see `SnapshotCache.validatedAsync`).
   * @throws {JsonFileRepositoryError} `ERR_IO` when the file cannot be checked.
   */
  async validatedAsync(key: string, file: string): Promise<Snapshot | null | undefined> {
    try {
      return await this.#cache.validatedAsync(key, file)
    } catch (error) {
      throw ioError('read', key, file, error)
    }
  }

  /**
   * The entry a validated snapshot of `key` stands for, parsed anew; a miss when it has expired
   * (see `missExpired`).
   */
  fromCache<T>(
    key: string,
    file: string,
    cached: Snapshot,
  ): RepositoryEntry<T> | Promise<undefined> {
    if (isExpired(cached.expiresAt)) return this.missExpired(key, file, cached.signature)
    return toEntry(key, parse<T>(cached.json), cached)
  }

  /** What the cache says the current file of `key` holds, not checked against the file. */
  cached(key: string): Snapshot | undefined {
    return this.#cache.get(key)
  }

  /** The counters, and the cache's size now. */
  stats(): Pick<RepositoryStats, 'touches'> & ReturnType<SnapshotCache['stats']> {
    return { touches: this.#touches, ...this.#cache.stats() }
  }

  /**
   * Reads, checks and caches the file of `key`: `undefined` when expired or bad, `null` when
   * there is none. The entry's files in the other forms are read too, sealed ones first (see
   * `readOrder`); only the current form's is cached (the cache answers for the current file
   * only).
   * @throws {JsonFileRepositoryError} `ERR_IO` when a file cannot be read or moved aside.
   */
  async load<T>(key: string, file: string): Promise<RepositoryEntry<T> | undefined | null> {
    const [current] = this.#options.forms
    for (const form of this.#readOrder) {
      const name = form.name(key)
      const each = form === current ? file : name === undefined ? undefined : this.#dir.file(name)
      const found = each === undefined ? null : await this.#load<T>(key, each, form)
      if (found !== null) return found
      if (form === current) this.#cache.delete(key)
    }
    return null
  }

  /** Like `load` for the file of `key` in `form`; `null` when it is missing. */
  async #load<T>(
    key: string,
    file: string,
    form: Form,
  ): Promise<RepositoryEntry<T> | undefined | null> {
    const result = await this.#dir.read(key, file)
    if (result === undefined) return null
    if ('notAFile' in result) {
      await this.quarantine(key, file, result.notAFile, result.stats?.ino)
      return undefined
    }
    const { text, stats } = result
    if (!form.sealed && !this.isPlainReadable(stats)) {
      await this.quarantine(key, file, PLANTED, stats.ino)
      return null
    }
    let payload: Payload
    let value: T
    try {
      payload = form.decode(path.basename(file), text)
      if (payload.key !== key) throw new Error('another key')
      value = parse(payload.json)
    } catch {
      const what =
        text === ''
          ? 'an empty file'
          : form.sealed
            ? 'not sealed for this name by a configured key (altered, truncated, moved or of another key)'
            : 'invalid JSON'
      await this.quarantine(key, file, what, stats.ino)
      return undefined
    }
    const expiresAt = expiryOf(mtimeToExpiry(stats.mtimeMs), payload)
    if (isExpired(expiresAt)) return this.missExpired(key, file, signature(stats))
    const snapshot: Snapshot = { json: payload.json, signature: signature(stats), expiresAt }
    if (form === this.#options.forms[0]) this.#cache.set(key, snapshot)
    return toEntry(key, value, snapshot)
  }

  /**
   * Whether an unencrypted file (an entry's or an earlier store's) with these stats may be
   * read: with encryption on, only during `'encrypting'` and if it changed before
   * `encryption.since` (see `NormalizedOptions.plainBefore`).
   */
  isPlainReadable(stats: fs.Stats): boolean {
    return stats.ctimeMs < this.#options.plainBefore
  }

  /** Whether any unencrypted file may be read (see `isPlainReadable`). */
  get readsPlain(): boolean {
    return this.#options.plainBefore > Number.NEGATIVE_INFINITY
  }

  /**
   * Writes `json` to the file of `key` atomically, with its expiry on it before the rename,
   * then removes its files in the other forms. Checked last before the rename (a delete that
   * lands before it wins, see `AtomicWriteOptions.check`): with `update`, that the entry exists
   * in some form (then it is written in the current one); with `exclusive`, that it exists in
   * none (and the current file is linked, never replaced); with `from`, that the file the value
   * was read from is still the version seen.
   * @returns Whether it wrote: `false` only when one of these checks said no.
   * @throws {JsonFileRepositoryError} `ERR_IO` when a file cannot be written or removed, or the
   *   directory flushed; `ERR_UNSAFE_DIRECTORY` (see `DirectoryGuard.verify`).
   */
  async write(
    key: string,
    file: string,
    json: string,
    expiresAt: number | undefined,
    { update = false, exclusive = false, from }: WriteChecks = {},
  ): Promise<boolean> {
    // A cached entry was read from or written to the current file: no other form is left.
    const others = this.#cache.get(key) === undefined ? this.#otherFiles(key) : []
    // Until the write is done the cache must not answer for this key.
    this.#cache.delete(key)
    const text = this.#options.forms[0].encode(key, path.basename(file), json, expiresAt)
    const checks: Check[] = []
    if (update) checks.push(filesExist([file, ...others], true))
    // The file a move reads from is one of the others: it is checked by `from`.
    if (exclusive)
      checks.push(
        filesExist(
          others.filter((other) => other !== from?.file),
          false,
        ),
      )
    if (from) checks.push(stillSame(from.file, from.seen))
    const mtime = expiryToMtime(expiresAt)
    const check = checks.length > 0 ? allOf(checks) : undefined
    for (let attempt = 1; ; attempt++) {
      let stats: fs.Stats | undefined
      try {
        stats = await this.#dir.write(file, text, mtime, { exclusive, check })
      } catch (error) {
        const code = errorCode(error)
        if (exclusive && code === 'EEXIST') return false
        if (error instanceof JsonFileRepositoryError) throw error
        if (attempt > 1 || (code !== 'ENOENT' && code !== 'EISDIR')) {
          throw ioError('write', key, file, error)
        }
        // The directory was removed under us: make it again. A directory sits where the file
        // goes: move it aside. Either way, try once more.
        if (code === 'ENOENT') this.#dir.makeAgain(key, file)
        else await this.quarantine(key, file, 'a directory')
        continue
      }
      if (stats === undefined) return false
      const stored = mtimeToExpiry(stats.mtimeMs)
      if (expiresAt !== undefined && stored !== expiresAt)
        this.#dir.warnClampedTimes(expiresAt, stats.mtimeMs)
      // The expiry the file holds: it differs from `expiresAt` only where times are clamped.
      const held = this.#options.forms[0].sealed ? expiresAt : stored
      this.#cache.set(key, { json, signature: signature(stats), expiresAt: held })
      for (const other of others) await this.#unlink(key, other)
      await this.#dir.syncDirectory('write', key, file)
      return true
    }
  }

  /**
   * Moves the expiry of the file of `key` (in a previous form when it has none in the current
   * one). With `expected`, only when the file is still the version cached (else resolves to
   * `false` and the caller writes the whole value). A sealed entry holds its expiry in its seal
   * too: it is written anew (see `#reseal`). With `fsync`, the new time is flushed.
   * @returns Whether there was a file to touch.
   * @throws {JsonFileRepositoryError} `ERR_IO` when a file cannot be touched.
   */
  async touch(
    key: string,
    file: string,
    expiresAt: number | undefined,
    expected?: Snapshot,
  ): Promise<boolean> {
    if (this.#options.forms[0].sealed) return this.#reseal(key, file, expiresAt, expected)
    if (await this.#touch(key, file, expiresAt, expected)) return true
    if (expected) return false
    for (const other of this.#otherFiles(key)) {
      if (await this.#touch(key, other, expiresAt)) return true
    }
    return false
  }

  /**
   * Writes a sealed entry anew with the expiry `expiresAt`, only while its file is still the
   * version read (a logout meanwhile wins): that of `expected`, or else read now (once more if
   * it changed between the read and the write).
   */
  async #reseal(
    key: string,
    file: string,
    expiresAt: number | undefined,
    expected?: Snapshot,
  ): Promise<boolean> {
    if (expected) return this.write(key, file, expected.json, expiresAt, from(file, expected))
    for (let attempt = 1; ; attempt++) {
      const entry = await this.load(key, file)
      if (!entry) return false
      const read = this.#cache.get(key)
      // Read from another form (uncached): written in the current one if it still exists.
      if (read === undefined) {
        return this.write(key, file, JSON.stringify(entry.value), expiresAt, { update: true })
      }
      if (await this.write(key, file, read.json, expiresAt, from(file, read))) return true
      if (attempt === 2) return false
    }
  }

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
      const cached = expected ?? this.#cache.get(key)
      const current = cached !== undefined && sameSignature(before, cached.signature)
      if (expected && !current) return false
      const mtime = expiryToMtime(expiresAt)
      await futimes(fd, mtime, mtime)
      // A change of the expiry alone is flushed too: else a power cut could bring back the
      // earlier one (rarely costly: with `touchAfter`, an entry is touched once a while).
      if (this.#options.fsync) await fsync(fd)
      // Stats of this very inode: if another process has replaced the file meanwhile, the
      // signature cached here does not match the new file and the next get reads it.
      const after = await fstat(fd)
      const expiry = { signature: signature(after), expiresAt: mtimeToExpiry(after.mtimeMs) }
      if (current) this.#cache.set(key, { ...cached, ...expiry })
      else this.#cache.delete(key)
      this.#touches++
      return true
    } catch (error) {
      throw ioError('touch', key, file, error)
    } finally {
      await close(fd).catch(() => {})
    }
  }

  /**
   * Removes the file of `key` in every form, configured or not (an unencrypted file, when
   * encrypted, would bring the entry back with the next transition); a directory in their place
   * is moved aside. With `fsync`, flushes the directory after.
   * @returns Whether there was something to remove.
   * @throws {JsonFileRepositoryError} `ERR_IO` when a file cannot be removed or moved aside, or
   *   the directory flushed.
   */
  async remove(key: string, file: string): Promise<boolean> {
    let removed = false
    // The current file last: a writer that checks, last before its rename, that the entry is
    // still there in any form (see `write`) then misses this delete only if all of it lands
    // between that check and the rename.
    for (const each of [...this.#otherFiles(key, true), file]) {
      if (await this.#unlink(key, each)) removed = true
    }
    if (removed) await this.#dir.syncDirectory('delete', key, file)
    return removed
  }

  /**
   * The files `key` would have in the other forms read; with `unread`, also in the plain form
   * when it is not one of them.
   */
  #otherFiles(key: string, unread = false): string[] {
    const forms = this.#options.forms.slice(1)
    if (unread && this.#options.forms.every((form) => form.sealed)) forms.push(plainForm)
    const names = forms.map((form) => form.name(key))
    return names.filter((name) => name !== undefined).map((name) => this.#dir.file(name))
  }

  /**
   * Removes `file`, of `key`, without flushing the directory; a directory there is moved aside.
   * @returns Whether there was something to remove.
   */
  #unlink(key: string, file: string): Promise<boolean> {
    this.#cache.delete(key)
    return this.#dir.remove(key, file)
  }

  /**
   * A read met an expired entry: it is a miss whether or not its file can be removed now (on a
   * read-only filesystem it cannot; `prune()` reports that). Left in place when `readOnly`.
   */
  async missExpired(key: string, file: string, seen: Signature): Promise<undefined> {
    if (this.#options.readOnly) {
      this.#cache.delete(key)
      return undefined
    }
    await this.removeExpired(key, file, seen).catch((error) => {
      this.#options.logger.debug?.({ err: error, key, file }, 'cannot remove an expired entry')
    })
    return undefined
  }

  /**
   * Removes the file of an expired entry (of `key`, or of a hashed name not read when `key` is
   * `undefined`), unless a write for it is under way or, with `seen`, the file changed since it
   * was seen expired (another process may have just renewed it).
   * @returns Whether it removed the file.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be removed.
   */
  async removeExpired(key: string | undefined, file: string, seen?: Signature): Promise<boolean> {
    if (key !== undefined) this.#cache.delete(key)
    // A hashed name's key is not known without reading it: then whether this instance writes it.
    if (key === undefined ? this.#dir.isWriting(file) : this.#busy(key)) return false
    return this.#dir.remove(key ?? '', file, seen)
  }

  /**
   * Moves `file`, of `key`, which holds no valid entry, aside (see `DirectoryFiles.quarantine`).
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be moved.
   */
  async quarantine(key: string, file: string, what: string, ino?: number): Promise<void> {
    this.#cache.delete(key)
    await this.#dir.quarantine(key, file, what, ino)
  }
}

/** What `EntryFiles.write` checks last before its rename. */
interface WriteChecks {
  /** That the entry exists, in some form: see `SetOptions.update`. */
  update?: boolean
  /** That it exists in no form; the file is then linked, never replaced. */
  exclusive?: boolean
  /** That the file the value was read from is still the version seen. */
  from?: { file: string; seen: Signature }
}

/** A write that checks that `file` is still the version `read` of it. */
function from(file: string, read: Snapshot): WriteChecks {
  return { from: { file, seen: read.signature } }
}

/** Why an unencrypted file is refused while encrypting (see `isPlainReadable`). */
export const PLANTED =
  'an unencrypted file changed since the transition to encryption began (`encryption.since`): anyone who can write the directory could have planted it'

/** The entry a snapshot of `key` stands for, with `value` parsed from it. */
export function toEntry<T>(key: string, value: T, snapshot: Snapshot): RepositoryEntry<T> {
  const { size, ctimeMs } = snapshot.signature
  return { key, value, expiresAt: snapshot.expiresAt, size, changedAt: Math.round(ctimeMs) }
}

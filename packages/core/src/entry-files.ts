/**
 * An entry's files and what is known of them: the I/O on the file of one entry (read, write,
 * move its expiry, remove, move aside a file that holds no entry), the validated cache of what
 * each file holds (the only writer of it: every read or write updates it as it sees the file),
 * and the counters of that I/O. The repository decides which call a `set` needs; this decides
 * how a call is done on the files:
 * - which of an entry's forms to read (format.ts): the current one, then the previous ones
 *   (files of previous encryption keys, and the other of plain and encrypted during a
 *   transition), sealed ones first; a write or a delete removes the other forms;
 * - a write retried once where the directory was removed or a directory stands in its place.
 */
import { randomBytes } from 'node:crypto'
import type fs from 'node:fs'
import path from 'node:path'
import { makeDirectory } from './directory'
import { type DirectoryGuard, trustedOwners } from './directory-checks'
import { DirectorySync } from './directory-sync'
import { sealedBy, sealedSize } from './encryption'
import { errorCode, ioError, JsonFileRepositoryError, showKey } from './errors'
import { expiryToMtime, isExpired, mtimeToExpiry } from './expiry'
import {
  allOf,
  type Check,
  close,
  filesExist,
  fstat,
  fsync,
  futimes,
  lstat,
  open,
  READ_FLAGS,
  type ReadLimits,
  readRegularFile,
  rename,
  type Signature,
  sameSignature,
  signature,
  stillSame,
  unlink,
  writeFileAtomic,
} from './file-io'
import {
  expiryOf,
  type Form,
  formOfName,
  type Payload,
  parse,
  plainForm,
  readOrder,
} from './format'
import {
  fileNameToKey,
  invalidKeyReason,
  isSealedName,
  quarantineFileName,
  tempFileName,
} from './keys'
import type { NormalizedOptions } from './options'
import { type Snapshot, SnapshotCache } from './snapshot-cache'
import type { RepositoryEntry, RepositoryStats } from './types'

/** The counters of the I/O on entries' files (see `RepositoryStats`). */
type FileCounters = Pick<
  RepositoryStats,
  'hits' | 'misses' | 'writes' | 'touches' | 'deletes' | 'quarantined'
>

export class EntryFiles {
  readonly #directory: string
  /** The directory with a trailing separator: the path of a file is this plus its name. */
  readonly #prefix: string
  readonly #options: NormalizedOptions
  readonly #cache: SnapshotCache
  /** The I/O done since the repository was opened (see `RepositoryStats`). */
  readonly #counters: FileCounters = {
    hits: 0,
    misses: 0,
    writes: 0,
    touches: 0,
    deletes: 0,
    quarantined: 0,
  }
  /** Whether a write for a key is queued or running: expired files are then left alone. */
  readonly #busy: (key: string) => boolean
  /** Temp files this instance is writing now, so that `prune()` never removes them. */
  readonly #writing = new Set<string>()
  /** The files this instance is writing now: `prune()` leaves them, whatever their key. */
  readonly #targets = new Set<string>()
  readonly #tempPrefix = randomBytes(4).toString('hex')
  #tempCounter = 0
  /** The umask narrows the mode given to open(); only then is an explicit chmod needed. */
  readonly #chmod: boolean
  /** What a read refuses: too large a file, or another user's (unless the directory is shared). */
  readonly #limits: ReadLimits
  /** The same for an encrypted file, larger than the JSON it holds (see `sealedSize`). */
  readonly #sealedLimits: ReadLimits
  #warnedClampedTimes = false
  /** With `fsync`: flushes the directory after a rename or an unlink, shared between calls. */
  readonly #directorySync: DirectorySync | undefined
  /** The forms in the order reads try them (see `readOrder`). */
  readonly #readOrder: Form[]
  /** Checks the directory again before a write when it was made again or replaced. */
  readonly #guard: DirectoryGuard

  constructor(
    directory: string,
    options: NormalizedOptions,
    busy: (key: string) => boolean,
    guard: DirectoryGuard,
  ) {
    this.#guard = guard
    this.#directory = directory
    this.#prefix = path.join(directory, path.sep)
    this.#options = options
    this.#cache = new SnapshotCache(options.cache)
    this.#busy = busy
    this.#chmod = (options.fileMode & process.umask()) !== 0
    if (options.fsync) this.#directorySync = new DirectorySync(directory)
    this.#limits = {
      maxSize: options.maxFileSize,
      owners: options.allowSharedDirectory ? undefined : trustedOwners(),
    }
    this.#sealedLimits = { ...this.#limits, maxSize: sealedSize(options.maxFileSize) }
    this.#readOrder = readOrder(options.forms)
  }

  /** The path of the file named `name` in the directory. */
  file(name: string): string {
    return this.#prefix + name
  }

  /**
   * The path of the file of `key` in the form entries are written in.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY` when `key` cannot be stored.
   */
  fileOf(key: string): string {
    const reason = invalidKeyReason(key)
    const name = reason === undefined ? this.#options.forms[0].name(key) : undefined
    if (name === undefined) {
      throw new JsonFileRepositoryError(
        'ERR_INVALID_KEY',
        `Invalid key ${showKey(key)}: ${reason ?? 'too long for a file name'}`,
        typeof key === 'string' ? { key } : {},
      )
    }
    // No form's name ever yields a separator, `.` or `..`; this states the guarantee once more.
    if (name.includes('/') || name.includes('\\')) {
      throw new Error(`Key escaped the directory: ${name}`)
    }
    return this.#prefix + name
  }

  /**
   * The snapshot of `key` in the cache if its current file, `file`, is still that version
   * (checked with `lstat`, or less often with `revalidateAfter`), counted as a hit; `undefined`,
   * counted as a miss, when the file must be read; `null` when it is gone.
   * @throws {JsonFileRepositoryError} `ERR_IO` when the file cannot be checked.
   */
  validated(key: string, file: string): Snapshot | null | undefined {
    try {
      return this.#count(this.#cache.validated(key, file))
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
      return this.#count(await this.#cache.validatedAsync(key, file))
    } catch (error) {
      throw ioError('read', key, file, error)
    }
  }

  #count(cached: Snapshot | null | undefined): Snapshot | null | undefined {
    if (cached) this.#counters.hits++
    else if (cached === undefined) this.#counters.misses++
    return cached
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
  stats(): FileCounters & { cacheEntries: number; cacheBytes: number } {
    return { ...this.#counters, cacheEntries: this.#cache.size, cacheBytes: this.#cache.bytes }
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
      const each = form === current ? file : name === undefined ? undefined : this.file(name)
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
    const result = await this.read(key, file)
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
   * Reads `file`, of `key`, within the limits of the options (see `readRegularFile`): an
   * encrypted file may be as large as an entry of `maxFileSize` once encrypted.
   * @throws {JsonFileRepositoryError} `ERR_IO` for any failure but a missing file.
   */
  async read(key: string, file: string): ReturnType<typeof readRegularFile> {
    try {
      const sealed = isSealedName(path.basename(file))
      return await readRegularFile(file, sealed ? this.#sealedLimits : this.#limits)
    } catch (error) {
      throw ioError('read', key, file, error)
    }
  }

  /**
   * The key of the entry the file `name` holds, `undefined` when it holds none. For a name
   * made of its key, from the name alone; for a hashed name, by reading and opening the file
   * (within the limits of `read`). Calls `skipped` for an entry's file this configuration does
   * not read: sealed by none of the keys configured (`'foreign'`), or unencrypted while
   * encrypted outside a transition (`'plain'`).
   * @throws {JsonFileRepositoryError} `ERR_IO` when the file cannot be read.
   */
  async keyOf(
    name: string,
    file: string,
    skipped?: (what: 'foreign' | 'plain') => void,
  ): Promise<string | undefined> {
    const form = formOfName(this.#options.forms, name)
    if (form === undefined) {
      // Encrypted with no key configured, or plain while encrypted: neither is read.
      if (isSealedName(name)) skipped?.('foreign')
      else if (fileNameToKey(name) !== undefined) skipped?.('plain')
      return undefined
    }
    // A plain name is its key: decoding it reads nothing.
    if (!form.sealed) return form.decode(name, '').key
    const sealedByOther = (text: string) => {
      const id = sealedBy(text)
      if (id !== undefined && !form.keyIds?.includes(id)) skipped?.('foreign')
    }
    return (await this.#payload(name, file, form, sealedByOther))?.key
  }

  /**
   * What the file `name` in `form` holds, `undefined` when missing, not a file we may read, or
   * bad.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be read.
   */
  async #payload(name: string, file: string, form: Form, failed?: (text: string) => void) {
    const result = await this.read('', file)
    if (result === undefined || 'notAFile' in result) return undefined
    try {
      return { ...form.decode(name, result.text), stats: result.stats }
    } catch {
      failed?.(result.text)
      return undefined
    }
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
    const name = path.basename(file)
    const text = this.#options.forms[0].encode(key, name, json, expiresAt)
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
    const options = {
      ...this.#writeOptions(expiryToMtime(expiresAt)),
      exclusive,
      ...(checks.length > 0 ? { check: allOf(checks) } : {}),
    }
    for (let attempt = 1; ; attempt++) {
      // A directory made again since it was checked (by another user, say) is checked first.
      await this.#guard.verify()
      const temp = this.#prefix + tempFileName(name, this.#nextTempId())
      this.#writing.add(temp)
      this.#targets.add(file)
      try {
        const stats = await writeFileAtomic(file, temp, text, options)
        if (stats === undefined) return false
        this.#counters.writes++
        const stored = mtimeToExpiry(stats.mtimeMs)
        if (expiresAt !== undefined && stored !== expiresAt)
          this.#warnClampedTimes(expiresAt, stats.mtimeMs)
        // The expiry the file holds: it differs from `expiresAt` only where times are clamped.
        const held = this.#options.forms[0].sealed ? expiresAt : stored
        this.#cache.set(key, { json, signature: signature(stats), expiresAt: held })
        for (const other of others) await this.#unlink(key, other)
        await this.#directorySync?.sync()
        return true
      } catch (error) {
        const code = errorCode(error)
        if (exclusive && code === 'EEXIST') return false
        if (attempt > 1 || (code !== 'ENOENT' && code !== 'EISDIR')) {
          throw ioError('write', key, file, error)
        }
        // The directory was removed under us: make it again. A directory sits where the file
        // goes: move it aside. Either way, try once more.
        if (code === 'ENOENT') {
          try {
            makeDirectory(this.#directory, this.#options.directoryMode)
          } catch (error) {
            throw ioError('write', key, file, error)
          }
        } else await this.quarantine(key, file, 'a directory')
      } finally {
        this.#writing.delete(temp)
        this.#targets.delete(file)
      }
    }
  }

  /**
   * Moves the entry of `key` in the file `name` (of another form) to its current file, keeping
   * its expiry, then removes the old file unless it changed since it was read. The new file is
   * linked only while the old one is still the version read (a logout that removed it wins)
   * and no current file is there (a current file is newer: then only the old file goes). An
   * unencrypted file planted since `encryption.since` is not moved (see `isPlainReadable`).
   * @returns Whether the old file held a live entry of `key` to move.
   * @throws {JsonFileRepositoryError} `ERR_IO` when a file cannot be read, written or removed,
   *   or the directory flushed.
   */
  async move(key: string, name: string): Promise<boolean> {
    const file = this.file(name)
    const form = formOfName(this.#options.forms, name)
    const payload = form && (await this.#payload(name, file, form))
    const target = this.#options.forms[0].name(key)
    if (!payload || payload.key !== key || target === undefined || target === name) return false
    if (!form.sealed && !this.isPlainReadable(payload.stats)) return false
    const expiresAt = expiryOf(mtimeToExpiry(payload.stats.mtimeMs), payload)
    if (isExpired(expiresAt) || !isJson(payload.json)) return false
    const seen = signature(payload.stats)
    const targetFile = this.file(target)
    await this.write(key, targetFile, payload.json, expiresAt, {
      exclusive: true,
      from: { file, seen },
    })
    await this.removeIfUnchanged(key, file, seen)
    await this.syncDirectory('move', key, file)
    return true
  }

  /**
   * Removes `file`, of `key`, unless it changed since it was seen with `seen` (another process
   * may have written it again since).
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be removed.
   */
  async removeIfUnchanged(key: string, file: string, seen: Signature): Promise<void> {
    try {
      if (sameSignature(await lstat(file), seen)) await unlink(file)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw ioError('delete', key, file, error)
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
      this.#counters.touches++
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
    if (removed) await this.syncDirectory('delete', key, file)
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
    return names.filter((name) => name !== undefined).map((name) => this.file(name))
  }

  /**
   * Removes `file`, of `key`, without flushing the directory; a directory there is moved aside.
   * @returns Whether there was something to remove.
   */
  async #unlink(key: string, file: string): Promise<boolean> {
    this.#cache.delete(key)
    try {
      await unlink(file)
    } catch (error) {
      const code = errorCode(error)
      if (code === 'ENOENT') return false
      if (code !== 'EISDIR' && code !== 'EPERM') throw ioError('delete', key, file, error)
      await this.quarantine(key, file, 'a directory')
      return true
    }
    this.#counters.deletes++
    return true
  }

  /**
   * With `fsync`, flushes the directory, so that the renames and unlinks done before the call
   * survive a power loss (see directory-sync.ts).
   * @throws {JsonFileRepositoryError} `ERR_IO`, as a failure to `operation` the file of `key`.
   */
  async syncDirectory(operation: string, key: string, file: string): Promise<void> {
    try {
      await this.#directorySync?.sync()
    } catch (error) {
      throw ioError(operation, key, file, error)
    }
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
    await this.#removeExpired(key, file, seen).catch((error) => {
      this.#options.logger.debug?.({ err: error, key, file }, 'cannot remove an expired entry')
    })
    return undefined
  }

  /**
   * Removes the file of `key` if `lstat` says, now, that it is an expired entry (no file is
   * opened; but a sealed file whose time says "never", which whoever can write the directory
   * can set with `touch`, is opened for the expiry sealed in it), for `prune()`.
   * @returns Whether it removed the file.
   */
  async pruneExpired(key: string | undefined, file: string, now: number): Promise<boolean> {
    if (this.#isBusy(key, file)) return false
    let stats: fs.Stats
    try {
      stats = await lstat(file)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('prune', key ?? '', file, error)
    }
    if (!stats.isFile()) return false
    const expiresAt = mtimeToExpiry(stats.mtimeMs)
    if (expiresAt === undefined && isSealedName(path.basename(file))) {
      const name = path.basename(file)
      const form = formOfName(this.#options.forms, name)
      const payload = form && (await this.#payload(name, file, form))
      if (!payload || !isExpired(payload.sealedExpiry, now)) return false
      return this.#removeExpired(payload.key, file, signature(payload.stats))
    }
    if (!isExpired(expiresAt, now)) return false
    return this.#unlinkExpired(key, file)
  }

  /**
   * Removes the file `name` (of `key`, if known) if it is a regular file, without flushing the
   * directory: a file no key of this configuration names (see `remove`), for `clear()`, or an
   * earlier store's.
   * @returns Whether it removed one.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be removed.
   */
  async removeFile(name: string, key = ''): Promise<boolean> {
    const file = this.file(name)
    try {
      if (!(await lstat(file)).isFile()) return false
      await unlink(file)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('delete', key, file, error)
    }
    this.#counters.deletes++
    return true
  }

  /** Whether this instance is writing the temp file `file` now (`prune()` must leave it). */
  isWriting(file: string): boolean {
    return this.#writing.has(file)
  }

  /**
   * Removes the file of an expired entry, unless a write for the key is under way or the file
   * changed since it was seen expired (another process may have just renewed it).
   */
  async #removeExpired(key: string, file: string, seen: Signature): Promise<boolean> {
    this.#cache.delete(key)
    try {
      if (!sameSignature(await lstat(file), seen)) return false
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('delete', key, file, error)
    }
    return this.#unlinkExpired(key, file)
  }

  /**
   * Whether a write for `key` is queued or running; for a hashed name, whose key is not
   * known without reading it (`key` undefined), whether this instance is writing `file`.
   */
  #isBusy(key: string | undefined, file: string): boolean {
    return key === undefined ? this.#targets.has(file) : this.#busy(key)
  }

  /** Removes the file of an entry just seen expired, unless a write for it is under way. */
  async #unlinkExpired(key: string | undefined, file: string): Promise<boolean> {
    if (key !== undefined) this.#cache.delete(key)
    if (this.#isBusy(key, file)) return false
    try {
      await unlink(file)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('delete', key ?? '', file, error)
    }
    this.#counters.deletes++
    return true
  }

  /** Moves a file that holds no valid entry aside, beside it (unless `readOnly`), and reports it. */
  async quarantine(key: string, file: string, what: string, ino?: number): Promise<void> {
    this.#cache.delete(key)
    let aside: string | undefined
    if (!this.#options.readOnly) {
      aside = this.#prefix + quarantineFileName(path.basename(file))
      try {
        // Not if another writer has replaced the bad file with a good one since we read it.
        if (ino !== undefined && (await lstat(file)).ino !== ino) return
        await rename(file, aside)
      } catch (error) {
        if (errorCode(error) === 'ENOENT') return
        throw ioError('move aside', key, file, error)
      }
      this.#counters.quarantined++
    }
    const error = new JsonFileRepositoryError(
      'ERR_CORRUPT_FILE',
      // No path in the message: it may reach a response. The record has them.
      `The file of key ${showKey(key)} is ${what}; ${aside ? `it was moved aside (${aside.slice(file.length)})` : 'it was left in place (read-only)'}`,
      { key, file },
    )
    this.#options.logger.warn({ err: error, key, file, movedTo: aside }, error.message)
  }

  /**
   * Reports once that this filesystem clamps the modification times that hold expiries (see
   * expiry.ts), to the time it stored for `wanted`, and what follows.
   */
  #warnClampedTimes(wanted: number, mtimeMs: number): void {
    if (this.#warnedClampedTimes) return
    this.#warnedClampedTimes = true
    const stored = mtimeToExpiry(mtimeMs)
    const follows =
      stored !== undefined
        ? `an expiry after ${new Date(stored).toISOString()} is stored as that time (entries expire earlier than asked)`
        : this.#options.forms[0].sealed
          ? 'entries still expire (their expiry is sealed in them too), but `prune()` must open their files to know'
          : 'entries stored there never expire'
    this.#options.logger.error(
      { expiresAt: wanted },
      `The filesystem of the directory stores no modification time after ${new Date(mtimeMs).toISOString()}, where expiries are kept 200 years ahead: ${follows}`,
    )
  }

  /** How `writeFileAtomic` writes a file of this directory with the modification time `mtime`. */
  #writeOptions(mtime: number) {
    const { fileMode, fsync } = this.#options
    return { mode: fileMode, chmod: this.#chmod, mtime, fsync }
  }

  #nextTempId(): string {
    this.#tempCounter = (this.#tempCounter + 1) % 0x100000000
    return this.#tempPrefix + this.#tempCounter.toString(16)
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

function isJson(text: string): boolean {
  try {
    parse(text)
    return true
  } catch {
    return false
  }
}

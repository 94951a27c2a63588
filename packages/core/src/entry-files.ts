/**
 * The file of one entry: read it, write it, move its expiry, remove it, move it aside when it
 * holds no entry, and keep the cache and the counters in step with each. The per-key queue
 * orders these calls; this file decides nothing about *whether* to call them.
 */
import { randomBytes } from 'node:crypto'
import type fs from 'node:fs'
import path from 'node:path'
import { isStaleTemp, makeDirectory } from './directory'
import { trustedOwners } from './directory-checks'
import { DirectorySync } from './directory-sync'
import { errorCode, ioError, JsonFileRepositoryError, showKey } from './errors'
import { expiryToMtime, isExpired, mtimeToExpiry } from './expiry'
import {
  close,
  fstat,
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
  unlink,
  writeFileAtomic,
} from './file-io'
import { parse } from './format'
import { quarantineFileName, tempFileName } from './keys'
import type { NormalizedOptions } from './options'
import type { Snapshot, SnapshotCache } from './snapshot-cache'
import type { Counters, RepositoryEntry } from './types'

export class EntryFiles {
  readonly #directory: string
  /** The directory with a trailing separator: the path of a file is this plus its name. */
  readonly #prefix: string
  readonly #options: NormalizedOptions
  readonly #cache: SnapshotCache
  readonly #counters: Counters
  /** Whether a write for a key is queued or running: expired files are then left alone. */
  readonly #busy: (key: string) => boolean
  /** Temp files this instance is writing now, so that `prune()` never removes them. */
  readonly #writing = new Set<string>()
  readonly #tempPrefix = randomBytes(4).toString('hex')
  #tempCounter = 0
  /** The umask narrows the mode given to open(); only then is an explicit chmod needed. */
  readonly #chmod: boolean
  /** What a read refuses: too large a file, or another user's (unless the directory is shared). */
  readonly #limits: ReadLimits
  #warnedClampedTimes = false
  /** With `fsync`: flushes the directory after a rename or an unlink, shared between calls. */
  readonly #directorySync: DirectorySync | undefined

  constructor(
    directory: string,
    options: NormalizedOptions,
    cache: SnapshotCache,
    counters: Counters,
    busy: (key: string) => boolean,
  ) {
    this.#directory = directory
    this.#prefix = path.join(directory, path.sep)
    this.#options = options
    this.#cache = cache
    this.#counters = counters
    this.#busy = busy
    this.#chmod = (options.fileMode & process.umask()) !== 0
    if (options.fsync) this.#directorySync = new DirectorySync(directory)
    this.#limits = {
      maxSize: options.maxFileSize,
      owners: options.allowSharedDirectory ? undefined : trustedOwners(),
    }
  }

  /** The path of the file named `name` in the directory. */
  file(name: string): string {
    return this.#prefix + name
  }

  /**
   * Reads, checks and caches the file of `key`: `undefined` when missing, expired or bad, or
   * what `missing` resolves to when there is no file.
   */
  async load<T>(
    key: string,
    file: string,
    missing?: () => Promise<RepositoryEntry<T> | undefined>,
  ): Promise<RepositoryEntry<T> | undefined> {
    const result = await this.read(key, file)
    if (result === undefined) {
      this.#cache.delete(key)
      return missing?.()
    }
    if ('notAFile' in result) {
      await this.quarantine(key, file, result.notAFile)
      return undefined
    }
    const { text, stats } = result
    const snapshot: Snapshot = {
      json: text,
      signature: signature(stats),
      expiresAt: mtimeToExpiry(stats.mtimeMs),
    }
    if (isExpired(snapshot.expiresAt)) return this.missExpired(key, file, snapshot.signature)
    let value: T
    try {
      value = parse(text)
    } catch {
      await this.quarantine(key, file, text === '' ? 'an empty file' : 'invalid JSON', stats.ino)
      return undefined
    }
    this.#cache.set(key, snapshot)
    return toEntry(key, value, snapshot)
  }

  /**
   * Reads `file`, of `key`, within the limits of the options (see `readRegularFile`).
   * @throws {JsonFileRepositoryError} `ERR_IO` for any failure but a missing file.
   */
  async read(key: string, file: string): ReturnType<typeof readRegularFile> {
    try {
      return await readRegularFile(file, this.#limits)
    } catch (error) {
      throw ioError('read', key, file, error)
    }
  }

  /**
   * Writes `json` to the file of `key` atomically, with its expiry on it before the rename.
   * With `only: 'existing'`, only if the file exists (see `replaceOnly` of `writeFileAtomic`);
   * with `only: 'new'`, only if it does not (see `exclusive`).
   * @returns Whether it wrote: `false` only when `only` found the file missing, or there.
   */
  async write(
    key: string,
    file: string,
    json: string,
    expiresAt: number | undefined,
    only?: 'existing' | 'new',
  ): Promise<boolean> {
    // Until the write is done the cache must not answer for this key.
    this.#cache.delete(key)
    const name = path.basename(file)
    const options = {
      mode: this.#options.fileMode,
      chmod: this.#chmod,
      mtime: expiryToMtime(expiresAt),
      fsync: this.#options.fsync,
      replaceOnly: only === 'existing',
      exclusive: only === 'new',
    }
    for (let attempt = 1; ; attempt++) {
      const temp = this.#prefix + tempFileName(name, this.#nextTempId())
      this.#writing.add(temp)
      try {
        const stats = await writeFileAtomic(file, temp, json, options)
        if (stats === undefined) return false
        this.#counters.writes++
        const stored = mtimeToExpiry(stats.mtimeMs)
        if (expiresAt !== undefined && stored !== expiresAt) this.#warnClampedTimes(file)
        // The expiry the file holds: it differs from `expiresAt` only where times are clamped.
        this.#cache.set(key, { json, signature: signature(stats), expiresAt: stored })
        await this.#directorySync?.sync()
        return true
      } catch (error) {
        const code = errorCode(error)
        if (only === 'new' && code === 'EEXIST') return false
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
      }
    }
  }

  /**
   * Moves the expiry of the file of `key`. With `expected`, only when the file is still the
   * version cached (else resolves to `false` and the caller writes the whole value).
   * @returns Whether there was a file to touch.
   */
  async touch(
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
   * Removes the file of `key`; a directory in its place is moved aside.
   * @returns Whether there was something to remove.
   */
  async remove(key: string, file: string): Promise<boolean> {
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
    await this.syncDirectory('delete', key, file)
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
   * opened), for `prune()`.
   * @returns Whether it removed the file.
   */
  async pruneExpired(key: string, file: string, now: number): Promise<boolean> {
    if (this.#busy(key)) return false
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
   * Removes the temp file `name` if a writer that crashed left it (see `isStaleTemp`); never
   * one this instance is writing.
   */
  async pruneTemp(name: string, now: number): Promise<void> {
    const file = this.#prefix + name
    if (this.#writing.has(file)) return
    try {
      if (isStaleTemp(name, now - (await lstat(file)).ctimeMs)) {
        await unlink(file)
        this.#counters.tempFilesRemoved++
      }
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw ioError('prune', '', file, error)
    }
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

  /** Removes the file of an entry just seen expired, unless a write for it is under way. */
  async #unlinkExpired(key: string, file: string): Promise<boolean> {
    this.#cache.delete(key)
    if (this.#busy(key)) return false
    try {
      await unlink(file)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('delete', key, file, error)
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

  /** Reports once that this filesystem cannot hold the times that store expiries. */
  #warnClampedTimes(file: string): void {
    if (this.#warnedClampedTimes) return
    this.#warnedClampedTimes = true
    this.#options.logger.error(
      { file },
      `The filesystem of ${this.#directory} cannot store modification times after 2200, where expiries are kept: entries there will not expire`,
    )
  }

  #nextTempId(): string {
    this.#tempCounter = (this.#tempCounter + 1) % 0x100000000
    return this.#tempPrefix + this.#tempCounter.toString(16)
  }
}

/** The entry a snapshot of `key` stands for, with `value` parsed from it. */
export function toEntry<T>(key: string, value: T, snapshot: Snapshot): RepositoryEntry<T> {
  const { size, ctimeMs } = snapshot.signature
  return { key, value, expiresAt: snapshot.expiresAt, size, changedAt: Math.round(ctimeMs) }
}

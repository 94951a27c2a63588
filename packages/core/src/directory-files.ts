/**
 * The files of the directory, by path: the I/O every entry's file goes through, under the
 * directory's rules. A file is read within the limits of the options; written atomically under a
 * temp name of this instance (which `prune()` leaves alone), after the directory is checked
 * again if it was made again; flushed with the directory after a rename or an unlink; moved
 * aside, and reported, when it holds no entry. Which file holds which entry, and what is cached
 * of it, is entry-files.ts's.
 */
import { randomBytes } from 'node:crypto'
import type fs from 'node:fs'
import path from 'node:path'
import { makeDirectory } from './directory'
import { type DirectoryGuard, trustedOwners } from './directory-checks'
import { DirectorySync } from './directory-sync'
import { sealedSize } from './encryption'
import { errorCode, ioError, JsonFileRepositoryError, showKey } from './errors'
import { mtimeToExpiry } from './expiry'
import {
  type AtomicWriteOptions,
  lstat,
  type ReadLimits,
  readRegularFile,
  rename,
  type Signature,
  sameSignature,
  unlink,
  writeFileAtomic,
} from './file-io'
import { isSealedName, quarantineFileName, tempFileName } from './keys'
import type { NormalizedOptions } from './options'
import type { RepositoryStats } from './types'

export class DirectoryFiles {
  /** The directory's real path. */
  readonly directory: string
  /** The directory with a trailing separator: the path of a file is this plus its name. */
  readonly #prefix: string
  readonly #options: NormalizedOptions
  /** Checks the directory again before a write when it was made again or replaced. */
  readonly #guard: DirectoryGuard
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
  /** With `fsync`: flushes the directory after a rename or an unlink, shared between calls. */
  readonly #directorySync: DirectorySync | undefined
  #warnedClampedTimes = false
  /** What was done to files (see `RepositoryStats`). */
  readonly #counters = { writes: 0, deletes: 0, quarantined: 0 }

  constructor(directory: string, options: NormalizedOptions, guard: DirectoryGuard) {
    this.directory = directory
    this.#prefix = path.join(directory, path.sep)
    this.#options = options
    this.#guard = guard
    this.#chmod = (options.fileMode & process.umask()) !== 0
    if (options.fsync) this.#directorySync = new DirectorySync(directory)
    this.#limits = {
      maxSize: options.maxFileSize,
      owners: options.allowSharedDirectory ? undefined : trustedOwners(),
    }
    this.#sealedLimits = { ...this.#limits, maxSize: sealedSize(options.maxFileSize) }
  }

  /** The path of the file named `name` in the directory. */
  file(name: string): string {
    return this.#prefix + name
  }

  /** How many files were written, removed and moved aside. */
  stats(): Pick<RepositoryStats, 'writes' | 'deletes' | 'quarantined'> {
    return { ...this.#counters }
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
   * Writes `text` to `file` atomically (see `writeFileAtomic`), with the modification time
   * `mtime` (in seconds) on it before the rename, once the directory is checked again if it was
   * made again. Tried once: the caller decides what a failure calls for.
   * @returns The file's stats, or `undefined` when `check` said no.
   * @throws {JsonFileRepositoryError} `ERR_UNSAFE_DIRECTORY` (see `DirectoryGuard.verify`).
   * @throws The `fs` error of the write.
   */
  async write(
    file: string,
    text: string,
    mtime: number,
    checks: Pick<AtomicWriteOptions, 'exclusive' | 'check'>,
  ): Promise<fs.Stats | undefined> {
    // A directory made again since it was checked (by another user, say) is checked first.
    await this.#guard.verify()
    const { fileMode: mode, fsync } = this.#options
    const temp = this.#prefix + tempFileName(path.basename(file), this.#nextTempId())
    this.#writing.add(temp)
    this.#targets.add(file)
    try {
      const stats = await writeFileAtomic(file, temp, text, {
        mode,
        chmod: this.#chmod,
        mtime,
        fsync,
        ...checks,
      })
      if (stats) this.#counters.writes++
      return stats
    } finally {
      this.#writing.delete(temp)
      this.#targets.delete(file)
    }
  }

  /** Whether this instance is writing `file`, or the temp file `file`, now. */
  isWriting(file: string): boolean {
    return this.#writing.has(file) || this.#targets.has(file)
  }

  /**
   * Makes the directory again, after it was removed under a write to `file`, of `key`.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot.
   */
  makeAgain(key: string, file: string): void {
    try {
      makeDirectory(this.directory, this.#options.directoryMode)
    } catch (error) {
      throw ioError('write', key, file, error)
    }
  }

  /**
   * Removes `file` if `wanted`, given its `lstat`, says so (always without `wanted`), without
   * flushing the directory or counting it: what every removal here and `prune()`'s are made of.
   * @returns Whether it removed it (`false` when it is gone).
   * @throws {JsonFileRepositoryError} `ERR_IO`, as a failure to `operation` the file of `key`
   *   (`''`: the directory), with the `fs` error as its `cause`.
   */
  async unlinkIf(
    file: string,
    wanted: ((stats: fs.Stats) => boolean) | undefined,
    operation = 'delete',
    key = '',
  ): Promise<boolean> {
    try {
      if (wanted && !wanted(await lstat(file))) return false
      await unlink(file)
      return true
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError(operation, key, file, error)
    }
  }

  /**
   * Removes `file`, of `key` (if known), if it is a regular file, without flushing the directory.
   * @returns Whether it removed one.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be removed.
   */
  async removeFile(file: string, key = ''): Promise<boolean> {
    const removed = await this.unlinkIf(file, (stats) => stats.isFile(), 'delete', key)
    if (removed) this.#counters.deletes++
    return removed
  }

  /**
   * Removes `file`, of `key` (`''` when not known), without flushing the directory: with
   * `seen`, only if it is still that version (another process may have written it again
   * since). A directory in its place is moved aside.
   * @returns Whether it removed (or moved aside) something.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be removed.
   */
  async remove(key: string, file: string, seen?: Signature): Promise<boolean> {
    let removed: boolean
    try {
      removed = await this.unlinkIf(
        file,
        seen && ((stats) => sameSignature(stats, seen)),
        'delete',
        key,
      )
    } catch (error) {
      const code = errorCode((error as Error).cause)
      if (code !== 'EISDIR' && code !== 'EPERM') throw error
      await this.quarantine(key, file, 'a directory')
      return true
    }
    if (removed) this.#counters.deletes++
    return removed
  }

  /**
   * Removes `file`, of `key`, unless it changed since it was seen with `seen` (another process
   * may have written it again since): the file an entry was moved or converted from (not
   * counted as a delete: the entry lives on).
   * @returns Whether it removed it.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be removed.
   */
  removeIfUnchanged(key: string, file: string, seen: Signature): Promise<boolean> {
    return this.unlinkIf(file, (stats) => sameSignature(stats, seen), 'delete', key)
  }

  /**
   * Moves `file`, of `key`, which holds no valid entry (it is `what`), aside beside it (unless
   * `readOnly`), and reports it; not if it is gone, or is no longer the inode `ino` read.
   * @returns Whether it moved it.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be moved.
   */
  async quarantine(key: string, file: string, what: string, ino?: number): Promise<boolean> {
    let aside: string | undefined
    if (!this.#options.readOnly) {
      aside = this.#prefix + quarantineFileName(path.basename(file))
      try {
        // Not if another writer has replaced the bad file with a good one since we read it.
        if (ino !== undefined && (await lstat(file)).ino !== ino) return false
        await rename(file, aside)
      } catch (error) {
        if (errorCode(error) === 'ENOENT') return false
        throw ioError('move aside', key, file, error)
      }
    }
    const error = new JsonFileRepositoryError(
      'ERR_CORRUPT_FILE',
      // No path in the message: it may reach a response. The record has them.
      `The file of key ${showKey(key)} is ${what}; ${aside ? `it was moved aside (${aside.slice(file.length)})` : 'it was left in place (read-only)'}`,
      { key, file },
    )
    this.#options.logger.warn({ err: error, key, file, movedTo: aside }, error.message)
    if (aside === undefined) return false
    this.#counters.quarantined++
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
   * Reports once that this filesystem clamps the modification times that hold expiries (see
   * expiry.ts), to the time it stored for `wanted`, and what follows.
   */
  warnClampedTimes(wanted: number, mtimeMs: number): void {
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

  #nextTempId(): string {
    this.#tempCounter = (this.#tempCounter + 1) % 0x100000000
    return this.#tempPrefix + this.#tempCounter.toString(16)
  }
}

/**
 * Files an earlier store left: one per key, named `<key>` with no extension, holding JSON whose
 * own fields say when it expires (@itrocks/fastify-file-session-store 0.3 wrote sessions so).
 * With the `legacyFiles` option, each one met (by `get`, `delete`, `prune`, a listing or
 * `migrate`) is converted once into the current format:
 * - its entry is written as `<key>.json` only if no such file exists (a hard link, which fails
 *   atomically when it does): a current file is newer than any legacy one, so it wins, and a save
 *   made meanwhile by any process is never overwritten; and only while the legacy file is still
 *   the one read, so that a revocation (`delete`, `rm`) made meanwhile by another process wins;
 * - then the legacy file is removed, unless it changed since it was read.
 * A crash between the two leaves both: the current file is the one read, and the next `prune()`
 * or `migrate()` removes the other.
 */
import { type EntryFiles, PLANTED } from './entry-files'
import { errorCode, ioError } from './errors'
import { isExpired, toExpiry } from './expiry'
import { lstat, signature, unlink } from './file-io'
import { parse, serialize } from './format'
import { legacyFileNameToKey } from './keys'
import type { LegacyFormat } from './types'

/** What meeting one legacy file did (`missing`: there was none). */
export type Migration = 'migrated' | 'superseded' | 'expired' | 'corrupt' | 'missing'

export class LegacyFiles {
  readonly #files: EntryFiles
  readonly #format: LegacyFormat
  readonly #maxFileSize: number

  constructor(files: EntryFiles, format: LegacyFormat, maxFileSize: number) {
    this.#files = files
    this.#format = format
    this.#maxFileSize = maxFileSize
  }

  /**
   * Converts the legacy file of `key`, if it has one, to `file` (see above). Call it in the
   * key's queue.
   * @throws {JsonFileRepositoryError} `ERR_IO` when a file cannot be read, written, moved aside
   *   or removed, or the directory flushed.
   */
  async migrate(key: string, file: string): Promise<Migration> {
    // Encrypted, no unencrypted file is read: a legacy one waits for a transition, or a delete.
    if (!this.#files.readsPlain || legacyFileNameToKey(key) === undefined) return 'missing'
    const legacy = this.#files.file(key)
    // Within the same limits as an entry's file: a huge or foreign one is moved aside.
    const result = await this.#files.read(key, legacy)
    if (result === undefined) return 'missing'
    if ('notAFile' in result) {
      // A directory, link or FIFO with such a name is not one of the earlier store's files.
      if (!result.stats?.isFile()) return 'missing'
      await this.#files.quarantine(key, legacy, result.notAFile, result.stats.ino)
      return 'corrupt'
    }
    const { text, stats } = result
    const converted = this.#files.isPlainReadable(stats)
      ? this.#convert(key, text, stats.mtimeMs)
      : PLANTED
    if (typeof converted === 'string') {
      await this.#files.quarantine(key, legacy, converted, stats.ino)
      return 'corrupt'
    }
    const { json, expiresAt } = converted
    if (isExpired(expiresAt)) {
      await this.#files.removeIfUnchanged(key, legacy, signature(stats))
      return 'expired'
    }
    // Linked only while the legacy file is still the one read: a revocation meanwhile wins.
    const seen = signature(stats)
    const written = await this.#files.write(key, file, json, expiresAt, 'new', {
      file: legacy,
      seen,
    })
    await this.#files.removeIfUnchanged(key, legacy, seen)
    // With `fsync`, the new file and the legacy one's removal survive a power loss together.
    await this.#files.syncDirectory('delete', key, legacy)
    return written ? 'migrated' : 'superseded'
  }

  /**
   * The text of the entry a legacy file's `text` stands for and its expiry, or why it holds
   * none. JSON is parsed as every file is (prototype poisoning removed).
   */
  #convert(
    key: string,
    text: string,
    writtenAt: number,
  ): { json: string; expiresAt: number | undefined } | string {
    let value: unknown
    try {
      value = parse(text)
    } catch {
      return text === '' ? 'an empty file' : 'invalid JSON'
    }
    const converted = this.#format.convert(value, writtenAt)
    if (converted === undefined) return 'no entry of the earlier format'
    try {
      // In whole milliseconds, as a file's time stores it (`writtenAt` has fractions).
      const expiresAt = toExpiry(converted.expiresAt)
      return { json: serialize(key, converted.value, this.#maxFileSize), expiresAt }
    } catch {
      return 'an entry that cannot be stored (larger than maxFileSize as JSON)'
    }
  }

  /**
   * Removes the legacy file of `key`, so that deleting an entry cannot bring an older version
   * back. A directory or link with its name is left alone.
   * @returns Whether there was one.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be removed.
   */
  async remove(key: string): Promise<boolean> {
    if (legacyFileNameToKey(key) === undefined) return false
    const legacy = this.#files.file(key)
    try {
      if (!(await lstat(legacy)).isFile()) return false
      await unlink(legacy)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('delete', key, legacy, error)
    }
    await this.#files.syncDirectory('delete', key, legacy)
    return true
  }
}

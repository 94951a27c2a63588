/**
 * Files an earlier store left: one per key, named `<key>` with no extension, holding JSON whose
 * own fields say when it expires (@itrocks/fastify-file-session-store 0.3 wrote sessions so).
 * With the `legacyFiles` option, each one met (by `get`, `delete`, `prune`, a listing or
 * `migrate`) is converted once into the current format:
 * - its entry is written as `<key>.json` only if no such file exists (a hard link, which fails
 *   atomically when it does): a current file is newer than any legacy one, so it wins, and a save
 *   made meanwhile by any process is never overwritten;
 * - then the legacy file is removed, unless it changed since it was read.
 * A crash between the two leaves both: the current file is the one read, and the next `prune()`
 * or `migrate()` removes the other.
 */
import type { EntryFiles } from './entry-files'
import { errorCode, ioError } from './errors'
import { isExpired, toExpiry } from './expiry'
import { lstat, readRegularFile, type Signature, sameSignature, signature, unlink } from './file-io'
import { parse, serialize } from './format'
import { legacyFileNameToKey } from './keys'
import type { LegacyFormat } from './types'

/** What meeting one legacy file did (`missing`: there was none). */
export type Migration = 'migrated' | 'superseded' | 'expired' | 'corrupt' | 'missing'

export class LegacyFiles {
  readonly #files: EntryFiles
  readonly #format: LegacyFormat

  constructor(files: EntryFiles, format: LegacyFormat) {
    this.#files = files
    this.#format = format
  }

  /**
   * Converts the legacy file of `key`, if it has one, to `file` (see above). Call it in the
   * key's queue.
   */
  async migrate(key: string, file: string): Promise<Migration> {
    if (legacyFileNameToKey(key) === undefined) return 'missing'
    const legacy = this.#files.file(key)
    let result: Awaited<ReturnType<typeof readRegularFile>>
    try {
      result = await readRegularFile(legacy)
    } catch (error) {
      throw ioError('read', key, legacy, error)
    }
    // A directory, link or FIFO with such a name is not one of the earlier store's files.
    if (result === undefined || 'notAFile' in result) return 'missing'
    const { text, stats } = result
    let value: unknown
    try {
      value = parse(text)
    } catch {
      await this.#files.quarantine(
        key,
        legacy,
        text === '' ? 'an empty file' : 'invalid JSON',
        stats.ino,
      )
      return 'corrupt'
    }
    const converted = this.#format.convert(value, stats.mtimeMs)
    if (converted === undefined) {
      await this.#files.quarantine(key, legacy, 'no entry of the earlier format', stats.ino)
      return 'corrupt'
    }
    // In whole milliseconds, as a file's time stores it (`writtenAt` has fractions).
    const expiresAt = toExpiry(converted.expiresAt)
    if (isExpired(expiresAt)) {
      await this.#removeIfUnchanged(key, legacy, signature(stats))
      return 'expired'
    }
    const json = serialize(key, converted.value)
    const written = await this.#files.write(key, file, json, expiresAt, true)
    await this.#removeIfUnchanged(key, legacy, signature(stats))
    return written ? 'migrated' : 'superseded'
  }

  /**
   * Removes the legacy file of `key`, so that deleting an entry cannot bring an older version
   * back. A directory or link with its name is left alone.
   * @returns Whether there was one.
   */
  async remove(key: string): Promise<boolean> {
    if (legacyFileNameToKey(key) === undefined) return false
    const legacy = this.#files.file(key)
    try {
      if (!(await lstat(legacy)).isFile()) return false
      await unlink(legacy)
      return true
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('delete', key, legacy, error)
    }
  }

  /** Removes a legacy file just read, unless the earlier store has written it again since. */
  async #removeIfUnchanged(key: string, legacy: string, seen: Signature): Promise<void> {
    try {
      if (sameSignature(await lstat(legacy), seen)) await unlink(legacy)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw ioError('delete', key, legacy, error)
    }
  }
}

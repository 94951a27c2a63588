/**
 * Earlier stores (this folder is the only place that knows the files other session stores left:
 * formats.ts their names and JSON, this file their layout, their conversion and its report).
 * The repository consults `EarlierFiles` once, after a read of its own files (the `legacyFiles`
 * option), and walks hand it each name in which they found no entry; it reads and writes
 * through `EntryFiles` and `DirectoryFiles`, in the key's queue, and never calls back up.
 *
 * Two layouts:
 * - beside (@itrocks/fastify-file-session-store 0.3): `<key>`, no extension. Converted into
 *   `<key>.json` only if no file of the entry exists (a hard link, which fails atomically when
 *   one does: a current file is newer than any earlier one, and a save made meanwhile by any
 *   process is never overwritten), and only while the earlier file is still the one read (a
 *   revocation made meanwhile by another process wins); then the earlier file is removed unless
 *   it changed since it was read. A crash between the two leaves both: the current file is the
 *   one read, and the next `prune()` or `migrate()` removes the other.
 * - in place (session-file-store 1): `<key>.json`, the repository's own unencrypted name, but
 *   with no expiry on its modification time. Written again as an entry (its expiry on the file),
 *   only while it still exists, or removed when it has expired.
 */
import type { DirectoryFiles } from '../directory-files'
import { type EntryFiles, PLANTED } from '../entry-files'
import { isExpired, mtimeToExpiry, toExpiry } from '../expiry'
import { lstat, signature } from '../file-io'
import { parse, serialize } from '../format'
import { fileNameToKey } from '../keys'
import type { LegacyFormat, MigrationReport, RepositoryEntry } from '../types'
import type { WriteQueue } from '../write-queue'
import { legacyFileNameToKey } from './formats'

/** What meeting one earlier file did (`missing`: there was none). */
export type Migration = keyof MigrationReport | 'missing'

export class EarlierFiles {
  readonly #files: EntryFiles
  readonly #dir: DirectoryFiles
  readonly #queue: Pick<WriteQueue<unknown>, 'run'>
  readonly #format: LegacyFormat
  readonly #maxFileSize: number

  constructor(
    files: EntryFiles,
    dir: DirectoryFiles,
    queue: Pick<WriteQueue<unknown>, 'run'>,
    format: LegacyFormat,
    maxFileSize: number,
  ) {
    this.#files = files
    this.#dir = dir
    this.#queue = queue
    this.#format = format
    this.#maxFileSize = maxFileSize
  }

  /**
   * What a read of `key` gives once its earlier file, if any, is converted: `found` is what the
   * repository's own files gave (`null`: no file in any form).
   * @throws {JsonFileRepositoryError} `ERR_IO` when a file cannot be read, written, moved aside
   *   or removed, or the directory flushed; `ERR_INVALID_VALUE` when an in-place file's entry is
   *   larger than `maxFileSize` once converted (as for a `set`).
   */
  async read<T>(
    key: string,
    file: string,
    found: RepositoryEntry<T> | undefined | null,
  ): Promise<RepositoryEntry<T> | undefined> {
    if (!this.#isEarlier(key, found)) return found ?? undefined
    await this.#convert(key, file)
    // Read again whatever came of it: another process may have converted it just before.
    return (await this.#files.load<T>(key, file)) ?? undefined
  }

  /**
   * Converts the earlier file named `name`, if it is one beside an entry's, for a walk of the
   * directory (an in-place one is listed as the entry it is, and converted when read).
   * @returns The key of the entry it became, if it became one.
   * @throws {JsonFileRepositoryError} As {@link read}.
   */
  async convertName(name: string): Promise<string | undefined> {
    const key = this.#format.inPlace ? undefined : legacyFileNameToKey(name)
    if (key === undefined) return undefined
    return (await this.#convert(key, this.#files.fileOf(key))) === 'migrated' ? key : undefined
  }

  /**
   * Converts every earlier file of the directory now (see `JsonFileRepository.migrate`).
   * @throws {JsonFileRepositoryError} As {@link read}.
   */
  async migrate(
    visitNames: (visit: (name: string) => Promise<number>) => Promise<number>,
  ): Promise<MigrationReport> {
    const report: MigrationReport = { migrated: 0, superseded: 0, expired: 0, corrupt: 0 }
    await visitNames(async (name) => {
      const key = this.#keyOf(name)
      if (key === undefined || (this.#format.inPlace && !(await this.#isUnstamped(name)))) return 0
      const migration = await this.#convert(key, this.#files.fileOf(key))
      if (migration !== 'missing') report[migration]++
      return 0
    })
    return report
  }

  /**
   * For `prune()`: converts the earlier file `name`, if it is one beside an entry's (an
   * in-place one never looks expired: it waits to be read).
   * @returns Whether it had expired (and was removed).
   * @throws {JsonFileRepositoryError} As {@link read}.
   */
  async prune(name: string): Promise<boolean> {
    const key = this.#format.inPlace ? undefined : legacyFileNameToKey(name)
    if (key === undefined) return false
    return (await this.#convert(key, this.#files.fileOf(key))) === 'expired'
  }

  /** Whether `name` is an earlier file that `clear()` removes with the entries. */
  isLeftover(name: string): boolean {
    return !this.#format.inPlace && legacyFileNameToKey(name) !== undefined
  }

  /**
   * Removes the earlier file of `key` beside its entry's, so that deleting an entry cannot bring
   * an older version back. A directory or link with its name is left alone.
   * @returns Whether there was one.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be removed.
   */
  async remove(key: string): Promise<boolean> {
    if (this.#format.inPlace || legacyFileNameToKey(key) === undefined) return false
    if (!(await this.#dir.removeFile(this.#dir.file(key), key))) return false
    await this.#dir.syncDirectory('delete', key, this.#dir.file(key))
    return true
  }

  /**
   * Whether what the repository's own files gave for `key`, `found`, may stand for an earlier
   * file: in place, a file with no expiry; beside, no file at all, for a key that can name one.
   */
  #isEarlier(key: string, found: RepositoryEntry<unknown> | undefined | null): boolean {
    if (this.#format.inPlace) return found != null && found.expiresAt === undefined
    return found === null && legacyFileNameToKey(key) !== undefined
  }

  /** The key of an earlier file named `name`, whether or not it is one (see `#isUnstamped`). */
  #keyOf(name: string): string | undefined {
    return this.#format.inPlace ? fileNameToKey(name) : legacyFileNameToKey(name)
  }

  /** Whether the file `name` has no expiry on it: an in-place earlier file's mark. */
  async #isUnstamped(name: string): Promise<boolean> {
    const stats = await lstat(this.#dir.file(name)).catch(() => undefined)
    return stats?.isFile() === true && mtimeToExpiry(stats.mtimeMs) === undefined
  }

  /** Converts the earlier file of `key` into the entry's `file`, in the key's queue. */
  #convert(key: string, file: string): Promise<Migration> {
    return this.#queue.run(key, () =>
      this.#format.inPlace ? this.#convertInPlace(key, file) : this.#convertBeside(key, file),
    )
  }

  async #convertBeside(key: string, file: string): Promise<Migration> {
    // Encrypted, no unencrypted file is read: an earlier one waits for a transition, or a delete.
    if (!this.#files.readsPlain) return 'missing'
    // Within the same limits as an entry's file: a huge or foreign one is moved aside.
    const earlier = this.#dir.file(key)
    const result = await this.#dir.read(key, earlier)
    if (result === undefined) return 'missing'
    if ('notAFile' in result) {
      // A directory, link or FIFO with such a name is not one of the earlier store's files.
      if (!result.stats?.isFile()) return 'missing'
      await this.#files.quarantine(key, earlier, result.notAFile, result.stats.ino)
      return 'corrupt'
    }
    const { text, stats } = result
    const converted = this.#files.isPlainReadable(stats)
      ? this.#toEntry(key, text, stats.mtimeMs)
      : PLANTED
    if (typeof converted === 'string') {
      await this.#files.quarantine(key, earlier, converted, stats.ino)
      return 'corrupt'
    }
    const seen = signature(stats)
    if (isExpired(converted.expiresAt)) {
      await this.#dir.removeIfUnchanged(key, earlier, seen)
      return 'expired'
    }
    // Linked only while the earlier file is still the one read: a revocation meanwhile wins.
    const from = { file: earlier, seen }
    const written = await this.#files.write(key, file, converted.json, converted.expiresAt, {
      exclusive: true,
      from,
    })
    await this.#dir.removeIfUnchanged(key, earlier, seen)
    // With `fsync`, the new file and the earlier one's removal survive a power loss together.
    await this.#dir.syncDirectory('delete', key, earlier)
    return written ? 'migrated' : 'superseded'
  }

  /** An entry's file with no expiry on it, read (in whichever form), written again stamped. */
  async #convertInPlace(key: string, file: string): Promise<Migration> {
    const found = await this.#files.load<unknown>(key, file)
    if (!found || found.expiresAt !== undefined) return 'missing'
    const converted = this.#format.convert(found.value, found.changedAt)
    // Left as it is: a JSON file of the repository's own name, which the caller may judge.
    if (converted === undefined) return 'corrupt'
    // Too large once converted: an error, as for a `set` (the file is the repository's own).
    const json = serialize(key, converted.value, this.#maxFileSize)
    const expiresAt = toExpiry(converted.expiresAt)
    if (isExpired(expiresAt)) {
      await this.#files.remove(key, file)
      return 'expired'
    }
    // Only while it still exists: a revocation meanwhile wins.
    const written = await this.#files.write(key, file, json, expiresAt, { update: true })
    return written ? 'migrated' : 'missing'
  }

  /**
   * The text of the entry an earlier file's `text` stands for and its expiry, or why it holds
   * none. JSON is parsed as every file is (prototype poisoning removed).
   */
  #toEntry(
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
}

/**
 * What the repository does to the whole directory, one name at a time with flat memory (see
 * directory.ts): listing the entries, pruning what has expired or was left behind, removing
 * every form of every entry, moving entries to the current form, converting an earlier store's
 * files. Each name goes to whoever knows it: an entry's file to `EntryFiles` (in the key's
 * queue when it writes), an earlier store's to `EarlierFiles`, temp and quarantined files are
 * this file's. Opening a repository never walks the directory: only these calls do.
 */
import type fs from 'node:fs'
import { isStaleQuarantine, isStaleTemp, readNames, visitNames } from './directory'
import type { DirectoryFiles } from './directory-files'
import type { EarlierFiles } from './earlier-stores/earlier-files'
import { sealedBy } from './encryption'
import type { EntryFiles } from './entry-files'
import { errorCode, ioError } from './errors'
import { isExpired, mtimeToExpiry } from './expiry'
import { lstat, signature } from './file-io'
import { expiryOf, formOfName, parse } from './format'
import { fileNameToKey, isQuarantineName, isSealedName, tempFileWriter } from './keys'
import type { NormalizedOptions } from './options'
import type { MigrationReport, RepositoryStats } from './types'
import type { WriteQueue } from './write-queue'

/** How many files a walk stats, moves or removes at once. */
const CONCURRENCY = 32

/** Entries' files a walk met that this configuration does not read (see `#reportSkipped`). */
type Skipped = { foreign: number; plain: number }

export class DirectoryWalks {
  readonly #dir: DirectoryFiles
  readonly #files: EntryFiles
  readonly #earlier: EarlierFiles | undefined
  readonly #queue: Pick<WriteQueue<unknown>, 'run'>
  readonly #options: NormalizedOptions
  /** Whether the repository was closed: a walk then stops at the next name. */
  readonly #closed: () => boolean
  readonly #counters = { tempFilesRemoved: 0, quarantinedRemoved: 0 }
  /** The kinds of files not read that were reported (once each: see `#reportSkipped`). */
  readonly #reportedSkipped = new Set<keyof Skipped>()

  constructor(
    dir: DirectoryFiles,
    files: EntryFiles,
    earlier: EarlierFiles | undefined,
    queue: Pick<WriteQueue<unknown>, 'run'>,
    options: NormalizedOptions,
    closed: () => boolean,
  ) {
    this.#dir = dir
    this.#files = files
    this.#earlier = earlier
    this.#queue = queue
    this.#options = options
    this.#closed = closed
  }

  /** The counters of what `prune()` removed that was no entry. */
  stats(): Pick<RepositoryStats, 'tempFilesRemoved' | 'quarantinedRemoved'> {
    return { ...this.#counters }
  }

  /**
   * `[key, file, stats]` of every entry's regular file (by `lstat`: a symlink or a directory
   * with an entry's name is not one), streamed. An earlier store's file is converted when met,
   * and the entry it became listed (once, whether the stream then meets its new file or not).
   * @throws {JsonFileRepositoryError} `ERR_IO` when the directory cannot be listed or a file
   *   cannot be read or stat'ed.
   */
  async *entries(): AsyncIterableIterator<[string, string, fs.Stats]> {
    const skipped: Skipped = { foreign: 0, plain: 0 }
    const converted = new Set<string>()
    for await (const name of readNames(this.#dir.directory)) {
      let file = this.#dir.file(name)
      let key = await this.#keyOf(name, file, (what) => skipped[what]++)
      if (key === undefined) {
        key = await this.#earlier?.convertName(name)
        if (key === undefined) continue
        converted.add(key)
        file = this.#files.fileOf(key)
      } else if (converted.has(key)) continue
      let stats: fs.Stats
      try {
        stats = await lstat(file)
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue
        throw ioError('read', key, file, error)
      }
      if (stats.isFile()) yield [key, file, stats]
    }
    this.#reportSkipped(skipped)
  }

  /**
   * Removes the files of expired entries (from `stat` alone, see `#pruneExpired`),
   * temp files left by writers that crashed, files moved aside more than 7 days before, and
   * earlier stores' files that have expired.
   * @returns How many expired entries were removed.
   * @throws {JsonFileRepositoryError} `ERR_IO`.
   */
  prune(): Promise<number> {
    const now = Date.now()
    return this.#visit(async (name) => {
      // Whichever form an entry is in, and whatever key named it: `stat` alone decides.
      const key = fileNameToKey(name)
      if (key !== undefined || isSealedName(name))
        return Number(await this.#pruneExpired(key, name, now))
      if (tempFileWriter(name) !== undefined) await this.#pruneTemp(name, now)
      else if (isQuarantineName(name)) await this.#pruneQuarantined(name, now)
      else if (await this.#earlier?.prune(name)) return 1
      return 0
    })
  }

  /**
   * Removes the files no key of this configuration reads, which a later configuration would
   * (see `JsonFileRepository.clear`): unencrypted ones when encrypted, those of keys no longer
   * configured, earlier stores' files not yet converted.
   * @returns How many files were removed.
   * @throws {JsonFileRepositoryError} `ERR_IO`.
   */
  clearLeftovers(): Promise<number> {
    const leftover = (name: string) =>
      fileNameToKey(name) !== undefined ||
      isSealedName(name) ||
      this.#earlier?.isLeftover(name) === true
    return this.#visit(async (name) =>
      Number(leftover(name) && (await this.#dir.removeFile(this.#dir.file(name)))),
    )
  }

  /**
   * Moves every entry stored in another form than the current one to it (see
   * `JsonFileRepository.rekey`), each in its key's queue.
   * @returns How many entries were moved.
   * @throws {JsonFileRepositoryError} `ERR_IO`.
   */
  async rekey(): Promise<number> {
    const [current] = this.#options.forms
    const skipped: Skipped = { foreign: 0, plain: 0 }
    const moved = await this.#visit(async (name) => {
      const key = await this.#keyOf(name, this.#dir.file(name), (what) => skipped[what]++)
      if (key === undefined || current.name(key) === name) return 0
      return Number(await this.#queue.run(key, () => this.#move(key, name)))
    })
    this.#reportSkipped(skipped)
    return moved
  }

  /**
   * Converts every earlier store's file now (see `JsonFileRepository.migrate`).
   * @throws {JsonFileRepositoryError} `ERR_IO`.
   */
  migrate(earlier: EarlierFiles): Promise<MigrationReport> {
    return earlier.migrate((visit) => this.#visit(visit))
  }

  /**
   * The key of the entry the file `name` holds, `undefined` when it holds none. For a name
   * made of its key, from the name alone; for a hashed name, by reading and opening the file
   * (within the limits of `DirectoryFiles.read`). Calls `skipped` for an entry's file this configuration does
   * not read: sealed by none of the keys configured (`'foreign'`), or unencrypted while
   * encrypted outside a transition (`'plain'`).
   * @throws {JsonFileRepositoryError} `ERR_IO` when the file cannot be read.
   */
  async #keyOf(
    name: string,
    file: string,
    skipped: (what: keyof Skipped) => void,
  ): Promise<string | undefined> {
    const form = formOfName(this.#options.forms, name)
    if (form === undefined) {
      // Encrypted with no key configured, or plain while encrypted: neither is read.
      if (isSealedName(name)) skipped('foreign')
      else if (fileNameToKey(name) !== undefined) skipped('plain')
      return undefined
    }
    // A plain name is its key: decoding it reads nothing.
    if (!form.sealed) return form.decode(name, '').key
    const sealedByOther = (text: string) => {
      const id = sealedBy(text)
      if (id !== undefined && !form.keyIds?.includes(id)) skipped('foreign')
    }
    return (await this.#payload(name, file, sealedByOther))?.key
  }

  /**
   * What the file `name` holds, `undefined` when it is no entry's of this configuration's
   * forms, missing, not a file we may read, or bad (then told to `failed`, with its text).
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be read.
   */
  async #payload(name: string, file: string, failed?: (text: string) => void) {
    const form = formOfName(this.#options.forms, name)
    const result = form && (await this.#dir.read('', file))
    if (!form || result === undefined || 'notAFile' in result) return undefined
    try {
      return { ...form.decode(name, result.text), stats: result.stats, sealed: form.sealed }
    } catch {
      failed?.(result.text)
      return undefined
    }
  }

  /**
   * Removes the file `name` (of `key`, `undefined` for a hashed name) if `lstat` says, now,
   * that it is an expired entry: no file is opened, but a sealed file whose time says "never",
   * which whoever can write the directory can set with `touch`, is opened for the expiry sealed
   * in it.
   * @returns Whether it removed the file.
   * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be stat'ed, read or removed.
   */
  async #pruneExpired(key: string | undefined, name: string, now: number): Promise<boolean> {
    const file = this.#dir.file(name)
    let stats: fs.Stats
    try {
      stats = await lstat(file)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false
      throw ioError('prune', key ?? '', file, error)
    }
    if (!stats.isFile()) return false
    const expiresAt = mtimeToExpiry(stats.mtimeMs)
    if (expiresAt === undefined && isSealedName(name)) {
      const payload = await this.#payload(name, file)
      if (!payload || !isExpired(payload.sealedExpiry, now)) return false
      return this.#files.removeExpired(payload.key, file, signature(payload.stats))
    }
    return isExpired(expiresAt, now) && this.#files.removeExpired(key, file)
  }

  /**
   * Moves the entry of `key` in the file `name` (of another form) to its current file, keeping
   * its expiry, then removes the old file unless it changed since it was read. The new file is
   * linked only while the old one is still the version read (a logout that removed it wins)
   * and no current file is there (a current file is newer: then only the old file goes). An
   * unencrypted file planted since `encryption.since` is not moved (see `EntryFiles.isPlainReadable`).
   * @returns Whether the old file held a live entry of `key` to move.
   * @throws {JsonFileRepositoryError} `ERR_IO` when a file cannot be read, written or removed,
   *   or the directory flushed.
   */
  async #move(key: string, name: string): Promise<boolean> {
    const file = this.#dir.file(name)
    const payload = await this.#payload(name, file)
    const target = this.#options.forms[0].name(key)
    if (!payload || payload.key !== key || target === undefined || target === name) return false
    if (!payload.sealed && !this.#files.isPlainReadable(payload.stats)) return false
    const expiresAt = expiryOf(mtimeToExpiry(payload.stats.mtimeMs), payload)
    if (isExpired(expiresAt) || !isJson(payload.json)) return false
    const seen = signature(payload.stats)
    await this.#files.write(key, this.#dir.file(target), payload.json, expiresAt, {
      exclusive: true,
      from: { file, seen },
    })
    await this.#dir.removeIfUnchanged(key, file, seen)
    await this.#dir.syncDirectory('move', key, file)
    return true
  }

  #visit(visit: (name: string) => Promise<number>): Promise<number> {
    // close() is waiting: stop here rather than walk the rest of the directory.
    return visitNames(this.#dir.directory, CONCURRENCY, this.#closed, visit)
  }

  /**
   * Removes the temp file `name` if a writer that crashed left it (see `isStaleTemp`); never
   * one this instance is writing.
   */
  async #pruneTemp(name: string, now: number): Promise<void> {
    const file = this.#dir.file(name)
    if (this.#dir.isWriting(file)) return
    const stale = (stats: fs.Stats) => isStaleTemp(name, now - stats.ctimeMs)
    if (await this.#dir.unlinkIf(file, stale, 'prune')) this.#counters.tempFilesRemoved++
  }

  /**
   * Removes the file `name` if it was moved aside long enough ago (see `isStaleQuarantine`).
   * A directory moved aside is left alone: it is not ours to empty.
   */
  async #pruneQuarantined(name: string, now: number): Promise<void> {
    if (!isStaleQuarantine(name, now)) return
    const file = this.#dir.file(name)
    if (await this.#dir.unlinkIf(file, (stats) => stats.isFile(), 'prune')) {
      this.#counters.quarantinedRemoved++
    }
  }

  /**
   * Reports, once for each kind, that a walk of the directory met entries' files this
   * configuration does not read, which are invisible (never read, listed or moved): encrypted
   * files sealed by none of the configured keys (most often a key missing from the
   * configuration), and, encrypted outside a transition, unencrypted ones. Found where the
   * directory is walked anyway: opening never scans it. The counts, never the names.
   */
  #reportSkipped({ foreign, plain }: Skipped): void {
    const filesAre = (count: number) => (count === 1 ? 'file is' : 'files are')
    const report = (what: keyof Skipped, count: number, message: string) => {
      if (count === 0 || this.#reportedSkipped.has(what)) return
      this.#reportedSkipped.add(what)
      this.#options.logger.warn({ [`${what}Files`]: count }, message)
    }
    report(
      'foreign',
      foreign,
      `${foreign} encrypted ${filesAre(foreign)} sealed by none of the configured keys: ${foreign === 1 ? 'it is' : 'they are'} skipped (encrypted under another key? add it to \`encryption.keys\`)`,
    )
    report(
      'plain',
      plain,
      `${plain} unencrypted ${filesAre(plain)} not read: encrypted, an unencrypted file is read only during \`transition: 'encrypting'\` (the command line's encrypt)`,
    )
  }
}

function isJson(text: string): boolean {
  try {
    parse(text)
    return true
  } catch {
    return false
  }
}

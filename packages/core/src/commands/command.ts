/**
 * What every command of the command line shares: its shape, the two kinds of failure (and
 * their exit codes), the repository it works on, and how a line is printed.
 */
import { once } from 'node:events'
import type { ParseArgsConfig } from 'node:util'
import type { EncryptionOptions } from '../encryption'
import { JsonFileRepository } from '../json-file-repository'
import type { EntryInfo, LegacyFormat } from '../types'
import { finishProgress } from './progress'

export const NAME = 'json-file-repository'

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {}
/** A failure to do what was asked: exit code 1. */
export class Failure extends Error {}

export type Values = Record<string, string | boolean | string[] | undefined>

export interface Command {
  usage: string
  summary: string
  help: string
  options: NonNullable<ParseArgsConfig['options']>
  /** Whether it reads legacy session files even without `--legacy`. */
  legacy?: boolean
  /** Fewest and most positionals after `<dir>`. */
  args: [number, number]
  /**
   * How the command uses the encryption keys: `'encrypting'` or `'decrypting'` (it needs them,
   * and writes that form), `'optional'` (it works from `stat` alone, on any file). Other
   * commands need the keys when the directory holds encrypted entries.
   */
  keys?: 'encrypting' | 'decrypting' | 'optional'
  /**
   * Whether the command, with these options, changes the directory. The repository it is given
   * is read-only unless this says `true`: nothing else can remove, move or write a file.
   */
  writes?(values: Values): boolean
  /** `encryption`: the option `repository` was opened with, for another repository of the command. */
  run(
    repository: JsonFileRepository,
    args: string[],
    values: Values,
    encryption: EncryptionOptions | undefined,
  ): Promise<void>
}

/** A message in the program's one style: `json-file-repository: lower case, no final period`. */
export function messageLine(message: string): string {
  return `${NAME}: ${lowerFirst(message.replace(/\.$/, ''))}\n`
}

/** A message, such as the library's, as the middle of a sentence. */
export function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}

/**
 * Where the repository reports the corrupt files it meets, and the encrypted files no key
 * given opens: stderr, in the program's voice.
 */
const logger = {
  warn: (record: { foreignFiles?: number }, message?: string) => {
    const count = record.foreignFiles
    const line =
      count === undefined
        ? lowerFirst(`${message}`)
        : `${count} encrypted ${count === 1 ? 'file is' : 'files are'} sealed by none of the keys given, and skipped: give their key too (--key-file, one key a line)`
    process.stderr.write(messageLine(`warning: ${line}`))
  },
  error: (_: object, message?: string) => process.stderr.write(messageLine(`${message}`)),
}

/**
 * The repository of `directory`, read-only unless `writable`, reading the legacy files of
 * `legacyFiles` too (a writable one only: converting writes), with `encryption` if given, and
 * trusting a directory other users can write when `allowSharedDirectory`.
 * @throws {JsonFileRepositoryError} `ERR_IO` when a writable one cannot create the directory;
 * `ERR_UNSAFE_DIRECTORY` when another user could write it, unless `allowSharedDirectory`.
 * @throws {TypeError} Given `legacyFiles` when not `writable`, or an invalid key.
 */
export function openRepository(
  directory: string,
  writable: boolean,
  legacyFiles?: LegacyFormat,
  encryption?: EncryptionOptions,
  allowSharedDirectory = false,
): JsonFileRepository {
  // No cache: each value is read once, and so memory stays flat over any number of files.
  return new JsonFileRepository(directory, {
    cache: false,
    logger,
    readOnly: !writable,
    allowSharedDirectory,
    ...(legacyFiles ? { legacyFiles } : {}),
    ...(encryption ? { encryption } : {}),
  })
}

/**
 * The live entries, as `list()` gives them from `stat`, each then read: a corrupt file (which a
 * read-only repository leaves in place, reporting it) is no entry, and neither is one that
 * expired or was removed since it was listed. What `stat` alone cannot tell.
 * @throws {JsonFileRepositoryError} `ERR_IO` (from the iteration).
 */
export async function* liveEntries(
  repository: JsonFileRepository,
): AsyncIterableIterator<EntryInfo> {
  for await (const { key } of repository.list({ expired: false })) {
    const entry = await repository.getEntry(key)
    if (entry === undefined) continue
    const { expiresAt, size, changedAt } = entry
    yield { key, expiresAt, size, changedAt }
  }
}

/** Writes a line, waiting when the reader is slower, so that memory stays flat. */
export async function print(text: string): Promise<void> {
  // On a terminal, the progress line goes before the output, which would be written into it.
  if (process.stdout.isTTY) await finishProgress()
  if (!process.stdout.write(`${text}\n`)) await once(process.stdout, 'drain')
}

/** `1 entry`, `2 entries`. */
export function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

export function time(ms: number): string {
  return new Date(ms).toISOString()
}

/** A key as one field of a line: quoted when it holds a tab, a newline or another control. */
export function keyField(key: string): string {
  return /\p{Cc}/u.test(key) ? JSON.stringify(key) : key
}

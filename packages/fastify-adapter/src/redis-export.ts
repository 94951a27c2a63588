/**
 * The sessions of a directory as Redis commands, for `redis-cli --pipe`: each one stored the
 * way connect-redis 9 stores it (key `<prefix><id>`, the session as JSON, expiring when it
 * does), so that an app moved to connect-redis serves the same cookies. Written in the Redis
 * protocol (RESP), which `--pipe` expects: a value may hold any byte, quoting is not needed.
 * Every session FileStore serves is exported, or the export fails: encrypted sessions need the
 * keys, and the files of @itrocks/fastify-file-session-store 0.3 that FileStore still converts
 * when met are exported too.
 */
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import type { Writable } from 'node:stream'
import {
  type EncryptionKey,
  JsonFileRepository,
  type Logger,
  legacySessions,
  recordToSession,
} from 'json-file-repository'

export interface RedisExportOptions {
  /** connect-redis's `prefix`. @default 'sess:' */
  prefix?: string
  /**
   * Milliseconds (not seconds) to keep a session whose file has no expiry, and the lifetime
   * from its last write of a 0.3 session without `cookie.expires` (as FileStore's `ttl`).
   * @default 86_400_000 (one day)
   */
  ttl?: number
  /** The encryption keys of the directory (FileStore's `encryption.keys`). */
  keys?: readonly EncryptionKey[]
  /** Where corrupt files that are skipped are reported. @default process warnings */
  logger?: Logger
}

/** An encrypted session's file name (see the core's keys.ts). */
const SEALED_NAME = /^[A-Za-z0-9_-]{43}\.enc$/
/** A file of @itrocks/fastify-file-session-store 0.3: `<session id>`, no extension. */
const LEGACY_NAME = /^[A-Za-z0-9_-]{1,195}$/
/** The largest session file read, as FileStore's default `maxFileSize`. */
const MAX_FILE_SIZE = 1024 * 1024

/**
 * Writes a `SET <prefix><id> <session JSON> PXAT <expiry> NX` per live session of `directory`
 * to `output`, waiting on a slow reader so that memory stays flat. Changes no file: the
 * directory is read read-only. `NX` never replaces a session Redis already holds, which the app
 * may have changed since: running it twice, or while the app already uses Redis, is safe.
 * @returns How many sessions were written.
 * @throws {TypeError} When `ttl` is not a positive number of milliseconds.
 * @throws {Error} Before writing anything: when the directory holds encrypted sessions and no
 *   `keys` are given, or, with `keys`, 0.3 files (convert them first: `json-file-repository
 *   migrate <dir>` with the keys). After writing the others: when encrypted files are sealed by
 *   none of the `keys` (their count is in the message).
 * @throws {JsonFileRepositoryError} `ERR_IO` when the directory or a file cannot be read.
 * @throws The error of `output`.
 */
export async function exportToRedis(
  directory: string,
  output: Writable,
  { prefix = 'sess:', ttl = 86_400_000, keys, logger }: RedisExportOptions = {},
): Promise<number> {
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new TypeError(`\`ttl\` must be a positive number of milliseconds, got ${ttl}`)
  }
  const { sealed, legacy } = await countNames(directory)
  if (keys === undefined && sealed > 0) {
    throw new Error(
      `${directory} holds encrypted sessions: give the keys (JSON_FILE_REPOSITORY_KEY, or --key-file)`,
    )
  }
  if (keys !== undefined && legacy > 0) {
    throw new Error(
      `${directory} holds ${legacy} session files of @itrocks/fastify-file-session-store 0.3, which an encrypted store reads no more: convert them first (json-file-repository migrate ${directory}, with the keys)`,
    )
  }
  let foreign = 0
  const report = logger ?? {
    warn: (_: object, message?: string) => process.emitWarning(`${message}`, 'FileStore'),
    error: (_: object, message?: string) => process.emitWarning(`${message}`, 'FileStore'),
  }
  const repository = new JsonFileRepository(directory, {
    readOnly: true,
    cache: false,
    maxFileSize: MAX_FILE_SIZE,
    // As the command line: plain sessions are read too, as during a transition.
    ...(keys ? { encryption: { keys, transition: 'encrypting' as const } } : {}),
    logger: {
      warn(record, message) {
        const count = (record as { foreignFiles?: number }).foreignFiles
        if (count === undefined) report.warn(record, message)
        else foreign = count
      },
      error: (record, message) => report.error(record, message),
    },
  })
  const write = async (id: string, session: object, expiry: string[]) => {
    const command = ['SET', prefix + id, JSON.stringify(session), ...expiry, 'NX']
    if (!output.write(resp(command))) await once(output, 'drain')
  }
  let count = 0
  try {
    for await (const key of repository.keys()) {
      const entry = await repository.getEntry(key)
      const session = entry && recordToSession(entry)
      if (!session) continue
      const expiry =
        entry.expiresAt === undefined ? ['PX', String(ttl)] : ['PXAT', String(entry.expiresAt)]
      await write(key, session, expiry)
      count++
    }
    if (legacy > 0) {
      const format = legacySessions(ttl)
      for await (const { name } of await fs.promises.opendir(directory)) {
        // A session with a file of its own is newer: FileStore reads that one.
        if (!LEGACY_NAME.test(name) || (await repository.has(name))) continue
        const file = await readLegacyFile(path.join(directory, name))
        const converted = file && format.convert(parseJson(file.text), file.writtenAt)
        const session = converted && recordToSession(converted)
        if (!converted || !session || (converted.expiresAt ?? 0) <= Date.now()) continue
        // In whole milliseconds, as Redis takes them (the file's time has fractions).
        await write(name, session, ['PXAT', String(Math.round(converted.expiresAt as number))])
        count++
      }
    }
  } finally {
    await repository.close()
  }
  if (foreign > 0) {
    throw new Error(
      `${foreign} encrypted session ${foreign === 1 ? 'file is' : 'files are'} sealed by none of the keys given, and ${foreign === 1 ? 'was' : 'were'} not exported (${count} other sessions were): give every key`,
    )
  }
  return count
}

/** How many names of `directory` are encrypted sessions' and 0.3 sessions'. */
async function countNames(directory: string): Promise<{ sealed: number; legacy: number }> {
  let sealed = 0
  let legacy = 0
  for await (const { name } of await fs.promises.opendir(directory)) {
    if (SEALED_NAME.test(name)) sealed++
    else if (LEGACY_NAME.test(name)) legacy++
  }
  return { sealed, legacy }
}

/**
 * The text of a 0.3 session file and when it was written, read as FileStore reads it: not
 * through a symlink, only a regular file of this user or root, of at most `MAX_FILE_SIZE`
 * bytes; `undefined` for any other.
 */
async function readLegacyFile(
  file: string,
): Promise<{ text: string; writtenAt: number } | undefined> {
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants
  let handle: fs.promises.FileHandle
  try {
    handle = await fs.promises.open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ELOOP') return undefined
    throw error
  }
  try {
    const stats = await handle.stat()
    const uid = process.geteuid?.()
    const trusted = uid === undefined || stats.uid === uid || stats.uid === 0
    if (!stats.isFile() || !trusted || stats.size > MAX_FILE_SIZE) return undefined
    return { text: await handle.readFile('utf8'), writtenAt: stats.mtimeMs }
  } finally {
    await handle.close()
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A command in the Redis protocol: an array of bulk strings, lengths in bytes. */
export function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`
}

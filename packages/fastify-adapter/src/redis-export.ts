/**
 * The sessions of a directory as Redis commands, for `redis-cli --pipe`: each one stored the
 * way connect-redis 9 stores it (key `<prefix><id>`, the session as JSON, expiring when it
 * does), so that an app moved to connect-redis serves the same cookies. Written in the Redis
 * protocol (RESP), which `--pipe` expects: a value may hold any byte, quoting is not needed.
 */
import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { JsonFileRepository, recordToSession } from 'json-file-repository'

export interface RedisExportOptions {
  /** connect-redis's `prefix`. @default 'sess:' */
  prefix?: string
  /** Seconds to keep a session whose file has no expiry (connect-redis's `ttl`). @default 86_400 */
  ttl?: number
}

/**
 * Writes a `SET <prefix><id> <session JSON> PXAT <expiry> NX` per live session of `directory`
 * to `output`, waiting on a slow reader so that memory stays flat. Changes no file: the
 * directory is read read-only. `NX` never replaces a session Redis already holds, which the app
 * may have changed since: running it twice, or while the app already uses Redis, is safe.
 * @returns How many sessions were written.
 * @throws {JsonFileRepositoryError} `ERR_IO` when the directory cannot be read.
 * @throws The error of `output`.
 */
export async function exportToRedis(
  directory: string,
  output: Writable,
  { prefix = 'sess:', ttl = 86_400 }: RedisExportOptions = {},
): Promise<number> {
  const repository = new JsonFileRepository(directory, { readOnly: true, cache: false })
  let count = 0
  try {
    for await (const key of repository.keys()) {
      const entry = await repository.getEntry(key)
      const session = entry && recordToSession(entry)
      if (!session) continue
      const expiry =
        entry.expiresAt === undefined ? ['EX', String(ttl)] : ['PXAT', String(entry.expiresAt)]
      const command = ['SET', prefix + key, JSON.stringify(session), ...expiry, 'NX']
      if (!output.write(resp(command))) await once(output, 'drain')
      count++
    }
  } finally {
    await repository.close()
  }
  return count
}

/** A command in the Redis protocol: an array of bulk strings, lengths in bytes. */
export function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`
}

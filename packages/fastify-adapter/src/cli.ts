#!/usr/bin/env node
/**
 * `fastify-file-session-store export-redis <dir>`: the sessions of a FileStore directory as
 * Redis commands for `redis-cli --pipe`, to move an app to connect-redis without logging
 * anyone out. Other work on the directory (ls, rm, prune, export as NDJSON) is done by the
 * `json-file-repository` command line.
 *
 * Exit codes: 0 success; 1 failure (missing directory or key, I/O error, sessions it cannot
 * read); 2 usage error.
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { KEY_VARIABLE, readEncryptionKeys } from 'json-file-repository'
import { exportToRedis } from './redis-export'

const NAME = 'fastify-file-session-store'
const USAGE = `${NAME} export-redis <dir> [--prefix sess:] [--ttl 86400000] [--key-file <path>]`
const HELP = `Usage: ${USAGE}

Writes every live session of <dir> as a Redis SET command, stored as connect-redis 9 stores
it (key <prefix><session id>, the session as JSON, expiring when the session does, with NX so
that a session already in Redis is kept), for redis-cli --pipe:

  ${NAME} export-redis /srv/app/sessions | redis-cli --pipe

Changes no file. The session files of @itrocks/fastify-file-session-store 0.3 that FileStore
still converts when met are exported too.

Options:
  --prefix <prefix>  connect-redis's prefix (default sess:)
  --ttl <ms>         milliseconds, not seconds (as FileStore's ttl): how long to keep a session
                     whose file has no expiry, and the lifetime from its last write of a 0.3
                     session without cookie.expires (default 86400000, one day; under an
                     hour is refused, as most likely seconds)
  -h, --help         show this help
  -v, --version      show the version
  --key-file <path>  a file holding the encryption keys, one a line (surrounding whitespace
                     ignored); may be given several times. Else the key is read from
                     ${KEY_VARIABLE} (one key). Needed for a directory with encrypted
                     sessions: without every key, the export fails.`

/**
 * A `--ttl` under this is most likely a number of seconds, as connect-redis's `ttl` is: a week
 * of seconds is ten minutes of milliseconds.
 */
const SHORT_TTL = 3_600_000

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--help' || argv[0] === '-h') return void process.stdout.write(`${HELP}\n`)
  if (argv[0] === '--version' || argv[0] === '-v')
    return void process.stdout.write(`${version()}\n`)
  if (argv[0] !== 'export-redis')
    throw new UsageError(argv[0] ? `unknown command ${JSON.stringify(argv[0])}` : 'missing command')
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv.slice(1))
  } catch {
    throw new UsageError(`usage: ${USAGE}`)
  }
  const { values, positionals } = parsed
  if (values.help) return void process.stdout.write(`${HELP}\n`)
  const [directory] = positionals
  const ttl = Number(values.ttl ?? 86_400_000)
  if (directory === undefined || positionals.length > 1 || !Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new UsageError(`usage: ${USAGE}`)
  }
  if (ttl < SHORT_TTL) {
    throw new UsageError(
      `--ttl is in milliseconds, not seconds: ${ttl} ms is under an hour (for ${ttl} seconds, write --ttl ${ttl * 1000})`,
    )
  }
  // A read-only repository does not create a missing directory: say it is missing instead.
  if (!fs.statSync(directory, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`no such directory: ${directory}`)
  }
  const keys = readEncryptionKeys(values['key-file'] ?? [])
  await exportToRedis(directory, process.stdout, {
    prefix: values.prefix ?? 'sess:',
    ttl,
    ...(keys ? { keys } : {}),
    logger: {
      warn: (_, message) => process.stderr.write(`${NAME}: warning: ${lowerFirst(`${message}`)}\n`),
      error: (_, message) => process.stderr.write(`${NAME}: ${lowerFirst(`${message}`)}\n`),
    },
  })
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}

function version(): string {
  const file = path.join(__dirname, '..', 'package.json')
  return JSON.parse(fs.readFileSync(file, 'utf8')).version
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      prefix: { type: 'string' },
      ttl: { type: 'string' },
      'key-file': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
}

main(process.argv.slice(2)).then(
  () => {},
  (error: unknown) => {
    const usage = error instanceof UsageError
    const message = error instanceof Error ? error.message : String(error)
    const text = message.charAt(0).toLowerCase() + message.slice(1).replace(/\.$/, '')
    process.stderr.write(`${NAME}: ${text}${usage ? ` (see ${NAME} --help)` : ''}\n`)
    process.exitCode = usage ? 2 : 1
  },
)

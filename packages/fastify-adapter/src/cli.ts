#!/usr/bin/env node
/**
 * `fastify-file-session-store export-redis <dir>`: the sessions of a FileStore directory as
 * Redis commands for `redis-cli --pipe`, to move an app to connect-redis without logging
 * anyone out. Other work on the directory (ls, rm, prune, export as NDJSON) is done by the
 * `json-file-repository` command line.
 *
 * Exit codes: 0 success; 1 failure (missing directory, I/O error); 2 usage error.
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { exportToRedis } from './redis-export'

const NAME = 'fastify-file-session-store'
const HELP = `Usage: ${NAME} export-redis <dir> [--prefix sess:] [--ttl 86400]

Writes every live session of <dir> as a Redis SET command, stored as connect-redis 9 stores
it (key <prefix><session id>, the session as JSON, expiring when the session does, with NX so
that a session already in Redis is kept), for redis-cli --pipe:

  ${NAME} export-redis /srv/app/sessions | redis-cli --pipe

Changes no file. --ttl: seconds to keep a session whose file has no expiry.

Options:
  -h, --help     show this help
  -v, --version  show the version`

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
    throw new UsageError(`usage: ${NAME} export-redis <dir> [--prefix sess:] [--ttl 86400]`)
  }
  const { values, positionals } = parsed
  if (values.help) return void process.stdout.write(`${HELP}\n`)
  const [directory] = positionals
  const ttl = Number(values.ttl ?? 86_400)
  if (directory === undefined || positionals.length > 1 || !Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new UsageError(`usage: ${NAME} export-redis <dir> [--prefix sess:] [--ttl 86400]`)
  }
  // A read-only repository does not create a missing directory: say it is missing instead.
  if (!fs.statSync(directory, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`no such directory: ${directory}`)
  }
  await exportToRedis(directory, process.stdout, { prefix: values.prefix ?? 'sess:', ttl })
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

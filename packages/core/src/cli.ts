#!/usr/bin/env node
/**
 * `json-file-repository`: inspect and clean a directory of a JsonFileRepository,
 * such as the sessions of fastify-file-session-store, while servers keep using it. It goes
 * through the repository like any other process: a removal is seen by every server on its next
 * read. It writes nothing: it only removes the entries asked for (and, like any reader, the
 * expired files it comes across, and it moves corrupt ones aside).
 *
 * Exit codes: 0 success; 1 failure (missing directory or key, I/O error); 2 usage error
 * (unknown command or option, missing argument, invalid key).
 */
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { isDeepStrictEqual, type ParseArgsConfig, parseArgs } from 'node:util'
import { errorCode, JsonFileRepositoryError } from './errors'
import { isExpired } from './expiry'
import { JsonFileRepository, type RepositoryEntry } from './json-file-repository'
import { isQuarantineName, tempFileWriter } from './keys'

const NAME = 'json-file-repository'

/** A mistake in the command line: exit code 2. */
class UsageError extends Error {}
/** A failure to do what was asked: exit code 1. */
class Failure extends Error {}

type Values = Record<string, string | boolean | string[] | undefined>
type Info = Omit<RepositoryEntry<unknown>, 'value'>

interface Command {
  usage: string
  summary: string
  help: string
  options: NonNullable<ParseArgsConfig['options']>
  /** Fewest and most positionals after `<dir>`. */
  args: [number, number]
  run(repository: JsonFileRepository, args: string[], values: Values): Promise<void>
}

const commands: Record<string, Command> = {
  stats: {
    usage: 'stats <dir> [--json]',
    summary: 'counts, bytes and ages of the entries',
    help: `Counts the live and the expired entries, the bytes of all entry files, the oldest and
the newest live entry (by change time), the quarantined (*.corrupt-*) and the temp files.`,
    options: { json: { type: 'boolean' } },
    args: [0, 0],
    async run(repository, _args, values) {
      const now = Date.now()
      let entries = 0
      let expired = 0
      let bytes = 0
      let oldest: Info | undefined
      let newest: Info | undefined
      for await (const info of repository.list()) {
        bytes += info.size
        if (isExpired(info.expiresAt, now)) {
          expired++
          continue
        }
        entries++
        if (!oldest || info.changedAt < oldest.changedAt) oldest = info
        if (!newest || info.changedAt > newest.changedAt) newest = info
      }
      let quarantined = 0
      let tempFiles = 0
      for await (const { name } of await fs.promises.opendir(repository.directory)) {
        if (isQuarantineName(name)) quarantined++
        else if (tempFileWriter(name) !== undefined) tempFiles++
      }
      if (values.json) {
        const at = (info?: Info) => (info ? { key: info.key, changedAt: info.changedAt } : null)
        const stats = { entries, expired, bytes, oldest: at(oldest), newest: at(newest) }
        await print(JSON.stringify({ ...stats, quarantined, tempFiles }))
        return
      }
      const at = (info?: Info) => (info ? `${time(info.changedAt)}  ${showKey(info.key)}` : '-')
      const rows: [string, string | number][] = [
        ['entries', entries],
        ['expired', expired],
        ['bytes', bytes],
        ['oldest', at(oldest)],
        ['newest', at(newest)],
        ['quarantined', quarantined],
        ['temp files', tempFiles],
      ]
      await print(rows.map(([name, value]) => `${`${name}:`.padEnd(13)}${value}`).join('\n'))
    },
  },
  ls: {
    usage: 'ls <dir> [--expired] [--json]',
    summary: 'one line per entry: key, size, expiry, change time',
    help: `Lists the live entries, one a line: key, size in bytes, expiry and change time,
separated by tabs. --expired lists the expired entries that are not yet pruned instead.
--json prints one JSON object a line: {"key","size","expiresAt","changedAt"} in ms (null:
never). Streams the directory: output starts at once, whatever it holds.`,
    options: { expired: { type: 'boolean' }, json: { type: 'boolean' } },
    args: [0, 0],
    async run(repository, _args, values) {
      for await (const { key, size, expiresAt, changedAt } of repository.list({
        expired: values.expired === true,
      })) {
        await print(
          values.json
            ? JSON.stringify({ key, size, expiresAt: expiresAt ?? null, changedAt })
            : [
                showKey(key),
                size,
                expiresAt === undefined ? 'never' : time(expiresAt),
                time(changedAt),
              ].join('\t'),
        )
      }
    },
  },
  get: {
    usage: 'get <dir> <key>',
    summary: 'the value of an entry, as JSON',
    help: 'Prints the value of <key> as indented JSON. Exits with 1 when there is none.',
    options: {},
    args: [1, 1],
    async run(repository, [key]) {
      const value = await repository.get(key as string)
      if (value === undefined) throw new Failure(`no entry for key ${JSON.stringify(key)}`)
      await print(JSON.stringify(value, null, 2))
    },
  },
  rm: {
    usage: 'rm <dir> (<key>... | --where <path>=<value>... [--dry-run])',
    summary: 'remove entries by key, or by a value inside them',
    help: `Removes the given keys, or every entry whose value at the dotted <path> equals
<value> (as a string, or as JSON when <value> parses as JSON: --where user.id=42 matches
42 and "42"; several --where must all match). Prints how many entries were removed;
--dry-run prints the matching keys instead. Servers see the removal on their next request.
Put -- before keys that start with a dash.`,
    options: { where: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' } },
    args: [0, Number.POSITIVE_INFINITY],
    async run(repository, keys, values) {
      const where = (values.where as string[] | undefined) ?? []
      if ((keys.length === 0) === (where.length === 0)) {
        throw new UsageError('rm: give either keys or --where <path>=<value>')
      }
      const dryRun = values['dry-run'] === true
      let removed = 0
      const remove = async (key: string) => {
        if (dryRun) await print(showKey(key))
        else if (await repository.delete(key)) removed++
      }
      if (keys.length > 0) {
        // Every key is checked before any file is removed.
        for (const key of keys) repository.path(key)
        for (const key of keys) if (!dryRun || (await repository.has(key))) await remove(key)
      } else {
        const conditions = where.map(parseCondition)
        for await (const [key, value] of repository.entries()) {
          if (conditions.every(([at, expected]) => matches(valueAt(value, at), expected))) {
            await remove(key)
          }
        }
      }
      if (!dryRun) await print(`removed ${removed}`)
    },
  },
  prune: {
    usage: 'prune <dir>',
    summary: 'remove expired entries and stale temp files',
    help: `Removes the files of expired entries (deciding from their time stamps, without reading
them) and the temp files of writers that crashed. Prints how many entries were removed.`,
    options: {},
    args: [0, 0],
    async run(repository) {
      await print(`pruned ${await repository.prune()}`)
    },
  },
}

const programHelp = `Usage: ${NAME} <command> <dir> [options]

Inspects and cleans a directory of json-file-repository files, such as the sessions of
fastify-file-session-store, safely while servers use it.

Commands:
${Object.values(commands)
  .map((command) => `  ${command.usage}\n      ${command.summary}`)
  .join('\n')}

Options:
  -h, --help     show help (also after a command: ${NAME} ls --help)
  -v, --version  show the version

Exit codes: 0 success, 1 failure (missing directory or key, I/O error), 2 usage error.`

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv
  if (name === undefined) throw new UsageError(`missing command (see ${NAME} --help)`)
  if (name === '--help' || name === '-h') return print(programHelp)
  if (name === '--version' || name === '-v') return print(version())
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (!command) throw new UsageError(`unknown command "${name}" (see ${NAME} --help)`)
  const { values, positionals } = parseArgs({
    args: rest,
    options: { help: { type: 'boolean', short: 'h' }, ...command.options },
    allowPositionals: true,
  })
  if (values.help) return print(`Usage: ${NAME} ${command.usage}\n\n${command.help}`)
  const [directory, ...args] = positionals
  const [fewest, most] = command.args
  if (!directory || args.length < fewest || args.length > most) {
    throw new UsageError(`usage: ${NAME} ${command.usage} (see ${NAME} ${name} --help)`)
  }
  // The repository creates a missing directory; a command given a wrong path must not.
  checkDirectory(directory)
  // No cache: each value is read once, and so memory stays flat over any number of files.
  const repository = new JsonFileRepository(directory, { cache: false, logger })
  try {
    await command.run(repository, args, values)
  } finally {
    await repository.close()
  }
}

function checkDirectory(directory: string): void {
  let stats: fs.Stats
  try {
    stats = fs.statSync(directory)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw new Failure(`no such directory: ${directory}`)
    throw new Failure(`cannot open ${directory}: ${(error as Error).message}`)
  }
  if (!stats.isDirectory()) throw new Failure(`not a directory: ${directory}`)
}

/** Corrupt files met by `get` or `rm --where` are moved aside by the repository: say so. */
const logger = {
  warn: (_: object, message?: string) => process.stderr.write(`${NAME}: warning: ${message}\n`),
  error: (_: object, message?: string) => process.stderr.write(`${NAME}: ${message}\n`),
}

/** Writes a line, waiting when the reader is slower, so that memory stays flat. */
async function print(text: string): Promise<void> {
  if (!process.stdout.write(`${text}\n`)) await once(process.stdout, 'drain')
}

function version(): string {
  const file = path.join(__dirname, '..', 'package.json')
  return JSON.parse(fs.readFileSync(file, 'utf8')).version
}

function time(ms: number): string {
  return new Date(ms).toISOString()
}

/** A key as one field of a line: quoted when it holds a tab, a newline or another control. */
function showKey(key: string): string {
  return /\p{Cc}/u.test(key) ? JSON.stringify(key) : key
}

function parseCondition(condition: string): [string, string] {
  const at = condition.indexOf('=')
  if (at <= 0) throw new UsageError(`--where wants <path>=<value>, got "${condition}"`)
  return [condition.slice(0, at), condition.slice(at + 1)]
}

const MISSING = Symbol('missing')

/** The value at a dotted path (`user.id`, `roles.0`), own properties only. */
function valueAt(value: unknown, dotted: string): unknown {
  let current = value
  for (const part of dotted.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) {
      return MISSING
    }
    current = (current as Record<string, unknown>)[part]
  }
  return current
}

function matches(actual: unknown, expected: string): boolean {
  if (actual === MISSING) return false
  if ((actual === null || typeof actual !== 'object') && String(actual) === expected) return true
  try {
    return isDeepStrictEqual(actual, JSON.parse(expected))
  } catch {
    return false
  }
}

// `json-file-repository ls dir | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error) => {
  if (errorCode(error) === 'EPIPE') process.exit(0)
  throw error
})

main(process.argv.slice(2)).then(
  () => {},
  (error: unknown) => {
    const usage =
      error instanceof UsageError ||
      (error instanceof JsonFileRepositoryError && error.code === 'ERR_INVALID_KEY') ||
      (errorCode(error) ?? '').startsWith('ERR_PARSE_ARGS')
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`${NAME}: ${message}\n`)
    process.exitCode = usage ? 2 : 1
  },
)

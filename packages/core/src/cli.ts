#!/usr/bin/env node
/**
 * `json-file-repository`: inspect and clean a directory of a JsonFileRepository,
 * such as the sessions of fastify-file-session-store, while servers keep using it. It goes
 * through the repository like any other process: a removal is seen by every server on its next
 * read. Commands that inspect open it read-only, so they change no file (an expired or corrupt
 * file is left in place); `rm`, `prune` and `import` change only what they report, `encrypt`
 * and `decrypt` move entries to the form they name. `migrate`, and `rm` or `prune` given
 * `--legacy`, also convert the session files of @itrocks/fastify-file-session-store 0.3 they
 * come across, as FileStore does. Encryption keys come from the environment or a file
 * (commands/encryption-keys.ts).
 *
 * This file parses the command line, runs one command and turns its failure into an exit code;
 * each command lives in its own file under `commands/`.
 *
 * Exit codes: 0 success; 1 failure (missing directory or key, I/O error); 2 usage error
 * (unknown command or option, missing argument, invalid key).
 */
import fs from 'node:fs'
import path from 'node:path'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { commands } from './commands'
import {
  Failure,
  messageLine,
  NAME,
  openRepository,
  print,
  UsageError,
  type Values,
} from './commands/command'
import { encryptionFor, KEY_VARIABLE } from './commands/encryption-keys'
import { finishProgress, showProgress } from './commands/progress'
import { legacySessions } from './earlier-stores/formats'
import { errorCode, JsonFileRepositoryError } from './errors'
import { SESSION_DEFAULTS } from './session-files'

const programHelp = `Usage: ${NAME} <command> <dir> [options]

Inspects and cleans a directory of json-file-repository files, such as the sessions of
fastify-file-session-store, safely while servers use it.

Commands:
${Object.values(commands)
  .map((command) => `  ${command.usage}\n      ${command.summary}`)
  .join('\n')}

Options:
  --legacy           with a command that writes: also read the session files of
                     @itrocks/fastify-file-session-store 0.3 (<dir>/<id>, no extension),
                     converting each to <id>.json, or to an encrypted file given keys
                     (see migrate)
  --ttl <ms>         with --legacy and migrate: lifetime of such a session without
                     cookie.expires, from its last write (default 86400000)
  --key-file <path>  a file holding encryption keys, one a line (surrounding whitespace
                     ignored); may be given several times; the first key is the current one.
                     Else the key is read from ${KEY_VARIABLE} (one key).
                     Needed for a directory with encrypted entries (but by prune). Given
                     keys, only encrypt (and a --legacy conversion) and decrypt read
                     unencrypted files; the other commands read encrypted entries only
  --since <time>     with encrypt (or a --legacy conversion) and keys: unencrypted files
                     changed at or after this time (ISO 8601, or ms) are not read (default:
                     now); give the servers' encryption.since
  --allow-shared-directory
                     open a directory shared on purpose by trusted users (writable by its
                     group, say): the allowSharedDirectory option of the library
  -h, --help         show help (also after a command: ${NAME} ls --help)
  -v, --version      show the version

On a terminal, migrate, encrypt, decrypt, export, import, prune and rm --where show their
progress on stderr (entries done, the rate, an ETA once the total is known); nothing extra is
printed when stderr is not a terminal, or with --json.

Exit codes: 0 success, 1 failure (missing directory or key, I/O error), 2 usage error.`

/** The help a usage error points to: the program's, or the command's once it is known. */
let help = `${NAME} --help`

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv
  if (name === undefined) throw new UsageError('missing command')
  if (name === '--help' || name === '-h') return print(programHelp)
  if (name === '--version' || name === '-v') return print(version())
  if (name.startsWith('-')) throw new UsageError(`unknown option ${name}`)
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`)
  help = `${NAME} ${name} --help`
  const { values, positionals } = parseCommandLine(rest, {
    help: { type: 'boolean', short: 'h' },
    legacy: { type: 'boolean' },
    ttl: { type: 'string' },
    'key-file': { type: 'string', multiple: true },
    since: { type: 'string' },
    'allow-shared-directory': { type: 'boolean' },
    ...command.options,
  })
  if (values.help) return print(`Usage: ${NAME} ${command.usage}\n\n${command.help}`)
  const [directory, ...args] = positionals
  const [fewest, most] = command.args
  if (!directory || args.length < fewest || args.length > most) {
    throw new UsageError(`usage: ${NAME} ${command.usage}`)
  }
  // A writable repository creates a missing directory; a command given a wrong path must not.
  checkDirectory(directory)
  const writable = command.writes?.(values) ?? false
  const legacy = command.legacy === true || values.legacy === true
  // Converting a legacy file writes: an inspection converts none (see the migrate command).
  if (legacy && !writable) throw new UsageError(`--legacy converts files: ${name} changes none`)
  if (!legacy && values.ttl !== undefined) throw new UsageError('--ttl goes with --legacy')
  const format = legacy ? legacySessions(ttlOf(values.ttl)) : undefined
  const encryption = await encryptionFor(command, directory, values, legacy)
  const shared = values['allow-shared-directory'] === true
  const repository = openRepository(directory, writable, format, encryption, shared)
  if (showsProgress(name, values)) showProgress(name, repository.directory, name !== 'import')
  try {
    await command.run(repository, args, values, encryption)
  } finally {
    await finishProgress()
    await repository.close()
  }
}

/** The commands that can take long: each file is a round trip on a network filesystem. */
const LONG_COMMANDS = new Set(['migrate', 'encrypt', 'decrypt', 'export', 'import', 'prune', 'rm'])

/**
 * Whether `command` shows its progress (on a terminal, see progress.ts): not with `--json`,
 * not `rm` of given keys, and not when its output lines go to the same terminal.
 */
function showsProgress(command: string, values: Values): boolean {
  if (!LONG_COMMANDS.has(command) || values.json === true) return false
  if (command === 'rm' && values.where === undefined) return false
  const printsLines = command === 'export' || values['dry-run'] === true
  return !(printsLines && process.stdout.isTTY)
}

/** The `--ttl` given, FileStore's default without one. */
function ttlOf(value: Values[string]): number {
  if (value === undefined) return SESSION_DEFAULTS.ttl
  const ttl = Number(value)
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new UsageError(
      `--ttl wants a positive number of milliseconds, got ${JSON.stringify(value)}`,
    )
  }
  return ttl
}

/**
 * `util.parseArgs`, with its errors in the program's words: it is run lenient and the options
 * are checked here, since its own messages are not meant for users.
 */
function parseCommandLine(
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
): { values: Values; positionals: string[] } {
  const { values, positionals, tokens } = parseArgs({
    args,
    options,
    allowPositionals: true,
    strict: false,
    tokens: true,
  })
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    const type = Object.hasOwn(options, token.name) ? options[token.name]?.type : undefined
    if (type === undefined) throw new UsageError(`unknown option ${token.rawName}`)
    if (type === 'boolean' && token.value !== undefined) {
      throw new UsageError(`option ${token.rawName} takes no value`)
    }
    // Lenient parsing takes `--where --dry-run` as a value: a value that looks like an option
    // is one only when attached (`--where=-x`).
    if (
      type === 'string' &&
      (token.value === undefined || (!token.inlineValue && token.value.startsWith('-')))
    ) {
      throw new UsageError(`option ${token.rawName} needs a value`)
    }
  }
  return { values, positionals }
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

function version(): string {
  const file = path.join(__dirname, '..', 'package.json')
  return JSON.parse(fs.readFileSync(file, 'utf8')).version
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
      (error instanceof JsonFileRepositoryError && error.code === 'ERR_INVALID_KEY')
    let message = error instanceof Error ? error.message : String(error)
    // The library's advice names its option: here it is a flag.
    if (error instanceof JsonFileRepositoryError && error.code === 'ERR_UNSAFE_DIRECTORY') {
      message = message.replace(
        'pass `allowSharedDirectory: true`',
        'pass --allow-shared-directory',
      )
    }
    process.stderr.write(messageLine(usage ? `${message} (see ${help})` : message))
    process.exitCode = usage ? 2 : 1
  },
)

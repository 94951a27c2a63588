#!/usr/bin/env node
/**
 * `json-file-repository`: inspect and clean a directory of a JsonFileRepository,
 * such as the sessions of fastify-file-session-store, while servers keep using it. It goes
 * through the repository like any other process: a removal is seen by every server on its next
 * read. It writes nothing: it only removes the entries asked for (and, like any reader, the
 * expired files it comes across, and it moves corrupt ones aside).
 *
 * This file parses the command line, runs one command and turns its failure into an exit code;
 * each command lives in its own file under `commands/`.
 *
 * Exit codes: 0 success; 1 failure (missing directory or key, I/O error); 2 usage error
 * (unknown command or option, missing argument, invalid key).
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { commands } from './commands'
import { Failure, NAME, print, UsageError } from './commands/command'
import { errorCode, JsonFileRepositoryError } from './errors'
import { JsonFileRepository } from './json-file-repository'

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
      (error instanceof JsonFileRepositoryError && error.code === 'ERR_INVALID_KEY') ||
      (errorCode(error) ?? '').startsWith('ERR_PARSE_ARGS')
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`${NAME}: ${message}\n`)
    process.exitCode = usage ? 2 : 1
  },
)

/**
 * What every command of the command line shares: its shape, the two kinds of failure (and
 * their exit codes), and how a line is printed.
 */
import { once } from 'node:events'
import type { ParseArgsConfig } from 'node:util'
import type { JsonFileRepository } from '../json-file-repository'

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
  run(repository: JsonFileRepository, args: string[], values: Values): Promise<void>
}

/** Writes a line, waiting when the reader is slower, so that memory stays flat. */
export async function print(text: string): Promise<void> {
  if (!process.stdout.write(`${text}\n`)) await once(process.stdout, 'drain')
}

export function time(ms: number): string {
  return new Date(ms).toISOString()
}

/** A key as one field of a line: quoted when it holds a tab, a newline or another control. */
export function showKey(key: string): string {
  return /\p{Cc}/u.test(key) ? JSON.stringify(key) : key
}

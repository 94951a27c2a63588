import fs from 'node:fs'
import { errorCode } from '../errors'
import { isExpired } from '../expiry'
import type { JsonFileRepository } from '../json-file-repository'
import { type Command, count, Failure, lowerFirst, print } from './command'
import { entryDone } from './progress'

/** Entries written at once: each write waits for its fsync, which writes in parallel share. */
const CONCURRENCY = 16

/** One line of `export`. */
interface Line {
  key: string
  value: unknown
  expiresAt: number | null
}

export const importCommand: Command = {
  usage: 'import <dir> [<file>]',
  summary: 'store the entries of an export (NDJSON), keeping their expiries',
  help: `Stores each line of <file> (standard input when it is absent or -), as written by
export: {"key","value","expiresAt"}. Keeps the expiries, skips the lines already expired, and
replaces an entry of the same key, so that running it twice changes nothing. Reads line by
line: memory stays flat. Stops at the first line that is not an entry, with its number (the
lines before it are stored). Prints how many entries were imported and skipped.`,
  options: {},
  args: [0, 1],
  writes: () => true,
  async run(repository, [file]) {
    const input = file === undefined || file === '-' ? process.stdin : fs.createReadStream(file)
    let imported = 0
    let expired = 0
    let number = 0
    const writing = new Set<Promise<void>>()
    try {
      for await (const text of lines(input)) {
        number++
        if (text.trim() === '') continue
        const line = parseLine(text, number)
        const expiresAt = line.expiresAt ?? undefined
        if (isExpired(expiresAt)) {
          expired++
          continue
        }
        checkKey(repository, line.key, number)
        const write = repository.set(line.key, line.value, { expiresAt }).then(() => {
          imported++
          entryDone()
          writing.delete(write)
        })
        // Its failure is thrown by the race or the final wait, or, after a bad line, is moot.
        write.catch(() => {})
        writing.add(write)
        if (writing.size >= CONCURRENCY) await Promise.race(writing)
      }
      await Promise.all(writing)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw new Failure(`no such file: ${file}`)
      if (errorCode(error) === 'EISDIR') throw new Failure(`${file} is a directory, not a file`)
      if (error instanceof TypeError && errorCode(error) === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
        throw new Failure(`line ${number + 1}: not valid UTF-8`)
      }
      throw error
    }
    await print(
      `imported ${count(imported, 'entry', 'entries')}, skipped ${count(expired, 'expired entry', 'expired entries')}`,
    )
  },
}

/**
 * The lines of `input`, without their `\n` or `\r\n`, decoded as UTF-8 strictly: a byte that
 * is not UTF-8 is an error (`ERR_ENCODING_INVALID_ENCODED_DATA`), never a U+FFFD put in a key.
 */
async function* lines(input: NodeJS.ReadableStream): AsyncIterableIterator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let rest = Buffer.alloc(0)
  for await (const chunk of input) {
    rest = Buffer.concat([rest, chunk as Buffer])
    let end = rest.indexOf(0x0a)
    while (end >= 0) {
      yield decoder.decode(rest.subarray(0, end)).replace(/\r$/, '')
      rest = rest.subarray(end + 1)
      end = rest.indexOf(0x0a)
    }
  }
  if (rest.length > 0) yield decoder.decode(rest).replace(/\r$/, '')
}

/** A key that came from a file is bad data, not a mistake in the command line. */
function checkKey(repository: JsonFileRepository, key: string, number: number): void {
  try {
    repository.path(key)
  } catch (error) {
    throw new Failure(`line ${number}: ${lowerFirst((error as Error).message)}`)
  }
}

/** A line of an export, or a `Failure` that says what is wrong with it. */
function parseLine(text: string, number: number): Line {
  let line: Partial<Line>
  try {
    line = JSON.parse(text)
  } catch {
    throw new Failure(`line ${number}: not JSON`)
  }
  const valid =
    typeof line === 'object' &&
    line !== null &&
    typeof line.key === 'string' &&
    'value' in line &&
    (line.expiresAt === null || Number.isSafeInteger(line.expiresAt))
  if (!valid) throw new Failure(`line ${number}: not {"key","value","expiresAt"}`)
  return line as Line
}

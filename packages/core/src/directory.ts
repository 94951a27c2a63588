/**
 * The directory itself: creating it, and walking what it holds with flat memory however many
 * files it has (names streamed with `opendir`, a few files in flight). Which names are entries,
 * temp files or foreign is for `keys.ts` to say; what to do with each is the caller's.
 */
import fs from 'node:fs'
import path from 'node:path'
import { errorCode, ioError, JsonFileRepositoryError } from './errors'
import { PID_SPACE, quarantinedAt, tempFileSpace, tempFileWriter } from './keys'
import type { NormalizedOptions } from './options'

/** A temp file older than this is stale whoever wrote it. */
const TEMP_MAX_AGE = 60 * 60 * 1000
/** A temp file younger than this is never touched, so a writer that just started is safe. */
const TEMP_MIN_AGE = 1000
/**
 * How long a file moved aside is kept for someone to look at: 7 days. It may hold plaintext,
 * and its name the key (a session id), so it must not stay for ever.
 */
export const QUARANTINE_MAX_AGE = 7 * 24 * 60 * 60 * 1000

/**
 * Creates `directory` with `mode` if it is missing, and its missing parents: at start-up, and
 * when it was removed while running (rare enough for the synchronous calls). One by one, not
 * with `mkdirSync`'s `recursive`, which loops for ever where a parent cannot hold a directory
 * (`/proc/x`, a stale mount): here that is the `mkdir` error.
 * @throws The `stat`, `mkdir` or `chmod` error; `ENOTDIR` when a file is in the way.
 */
export function makeDirectory(directory: string, mode: number): void {
  const missing: string[] = []
  let current = directory
  let stats = fs.statSync(current, { throwIfNoEntry: false })
  // The root always exists: this ends.
  while (stats === undefined) {
    missing.unshift(current)
    current = path.dirname(current)
    stats = fs.statSync(current, { throwIfNoEntry: false })
  }
  if (!stats.isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, ${current}`), { code: 'ENOTDIR' })
  }
  for (const each of missing) {
    try {
      fs.mkdirSync(each, { mode })
    } catch (error) {
      // Another process made it meanwhile: fine, and not ours to chmod.
      if (errorCode(error) === 'EEXIST' && fs.statSync(each).isDirectory()) continue
      throw error
    }
    // As for files: only when the umask narrowed the mode is an explicit chmod needed.
    if ((mode & process.umask()) !== 0) fs.chmodSync(each, mode)
  }
}

/**
 * Makes `directory` if it is missing (the caller checks it: see `DirectoryGuard`).
 * @returns Its real path.
 * @throws {JsonFileRepositoryError} `ERR_IO`.
 */
export function openDirectory(
  directory: string,
  options: Pick<NormalizedOptions, 'readOnly' | 'directoryMode'>,
): string {
  let real: string
  try {
    if (!options.readOnly) makeDirectory(directory, options.directoryMode)
    real = fs.realpathSync(directory)
  } catch (error) {
    // Read-only, a missing directory is an empty one: every read is a miss.
    if (options.readOnly && errorCode(error) === 'ENOENT') return directory
    throw new JsonFileRepositoryError(
      'ERR_IO',
      isFile(directory)
        ? `${directory} is a file, not a directory`
        : `Cannot create the directory ${directory}: ${(error as Error).message}`,
      { file: directory, cause: error },
    )
  }
  return real
}

/** Whether `file` is a regular file (not a directory, nor missing, nor under a file). */
function isFile(file: string): boolean {
  try {
    return fs.statSync(file, { throwIfNoEntry: false })?.isFile() === true
  } catch {
    return false
  }
}

/**
 * Told of each name a walk of a directory reads: how the command line shows the progress of a
 * long command (one command, so one walk at a time, per process). Unset in a library.
 */
export const walks: { onName?: () => void } = {}

/**
 * The names in `directory`, streamed; none if the directory is gone.
 * @throws {JsonFileRepositoryError} `ERR_IO` when it cannot be listed.
 */
export async function* readNames(directory: string): AsyncIterableIterator<string> {
  let dir: fs.Dir
  try {
    dir = await fs.promises.opendir(directory, { bufferSize: 128 })
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return
    throw ioError('list', '', directory, error)
  }
  try {
    for await (const dirent of dir) {
      walks.onName?.()
      yield dirent.name
    }
  } catch (error) {
    throw ioError('list', '', directory, error)
  }
}

/**
 * Calls `visit` for every name in `directory`, `concurrency` at a time, until the names run out
 * or `stop()` says so.
 * @returns The sum of what the visits returned.
 * @throws What `readNames` or a visit throws.
 */
export async function visitNames(
  directory: string,
  concurrency: number,
  stop: () => boolean,
  visit: (name: string) => Promise<number>,
): Promise<number> {
  const names = readNames(directory)
  // Workers that share one stream keep `concurrency` files in flight.
  const worker = async () => {
    let sum = 0
    for await (const name of names) {
      if (stop()) break
      sum += await visit(name)
    }
    return sum
  }
  const sums = await Promise.all(Array.from({ length: concurrency }, worker))
  return sums.reduce((total, sum) => total + sum, 0)
}

/**
 * Whether a temp file with this name and age was left by a writer that crashed: one of this
 * process (the caller knows it is not writing it), one whose writing process is gone, or any
 * older than an hour. Never one younger than a second. A writer of another pid space (another
 * host on a shared filesystem, another container) cannot be checked: only the hour applies.
 */
export function isStaleTemp(name: string, age: number): boolean {
  const writer = tempFileWriter(name)
  if (writer === undefined) return false
  if (age > TEMP_MAX_AGE) return true
  const space = tempFileSpace(name)
  if (age <= TEMP_MIN_AGE || (space !== undefined && space !== PID_SPACE)) return false
  return writer === process.pid || !processExists(writer)
}

/**
 * Whether a file with this name was moved aside (see `quarantineFileName`) longer than
 * `QUARANTINE_MAX_AGE` ago, by the time in its name: its modification time is still the
 * entry's (an expiry, or any time at all for a foreign file), and its change time moves with a
 * `chmod` or a copy.
 */
export function isStaleQuarantine(name: string, now: number): boolean {
  const movedAt = quarantinedAt(name)
  return movedAt !== undefined && now - movedAt > QUARANTINE_MAX_AGE
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === 'EPERM'
  }
}

/**
 * Whether a directory may be trusted with entries, checked once at start-up in the spirit of
 * OpenSSH's StrictModes: another local user who can write the directory, or any directory above
 * it, can replace or remove its files (for a session store: forge or end sessions). So the
 * directory and each of its parents must be owned by this process's user or by root, and must
 * not be writable by group or others unless sticky (as /tmp is: there nobody can rename or
 * remove another user's files). Files are judged likewise on every read (see `trustedOwners`).
 */
import fs from 'node:fs'
import path from 'node:path'
import { JsonFileRepositoryError } from './errors'

/** The sticky bit (S_ISVTX), which Node's `fs.constants` does not export. */
const STICKY = 0o1000
const HOW_TO_OPT_OUT = 'or, for a directory shared on purpose, pass `allowSharedDirectory: true`'

/**
 * The users whose files and directories are trusted: this process's and root. `undefined` where
 * there are no uids (Windows): everything is trusted there.
 */
export function trustedOwners(): ReadonlySet<number> | undefined {
  const uid = process.geteuid?.()
  return uid === undefined ? undefined : new Set([uid, 0])
}

/**
 * Checks `directory` (a real path, without symlinks) and each of its parents.
 * @throws {JsonFileRepositoryError} `ERR_UNSAFE_DIRECTORY` naming the first that fails, why, and
 * how to fix it; `ERR_IO` when one cannot be stat'ed.
 */
export function checkDirectory(directory: string, owners: ReadonlySet<number>): void {
  for (let current = directory; ; current = path.dirname(current)) {
    let stats: fs.Stats
    try {
      stats = fs.statSync(current)
    } catch (error) {
      throw new JsonFileRepositoryError(
        'ERR_IO',
        `Cannot check the directory ${current}: ${(error as Error).message}`,
        { file: directory, cause: error },
      )
    }
    const problem = unsafety(current, stats, owners)
    if (problem !== undefined) {
      const where = current === directory ? '' : ` (a parent of ${directory})`
      throw new JsonFileRepositoryError(
        'ERR_UNSAFE_DIRECTORY',
        `Refusing the directory ${current}${where}: ${problem}`,
        { file: directory },
      )
    }
    if (path.dirname(current) === current) return
  }
}

/** What is wrong with a directory, and how to fix it, or `undefined` when nothing is. */
function unsafety(
  directory: string,
  stats: fs.Stats,
  owners: ReadonlySet<number>,
): string | undefined {
  if (!owners.has(stats.uid)) {
    return `it is owned by uid ${stats.uid}, neither this process's user (uid ${process.geteuid?.()}) nor root, who could replace or remove its files; run as its owner or give it to this user (chown), ${HOW_TO_OPT_OUT}`
  }
  const mode = stats.mode & 0o7777
  if ((mode & 0o022) !== 0 && (mode & STICKY) === 0) {
    return `it is writable by ${mode & 0o002 ? 'others' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}) without the sticky bit, so other users could replace or remove its files; remove the write bits (chmod go-w ${directory}), ${HOW_TO_OPT_OUT}`
  }
  return undefined
}

/**
 * Whether a directory may be trusted with entries, in the spirit of OpenSSH's StrictModes:
 * another local user who can write the directory, or any directory above it, can replace or
 * remove its files (for a session store: forge or end sessions). So the directory and each of
 * its parents must be owned by this process's user or by root, and must not be writable by
 * group or others unless sticky (as /tmp is: there nobody can rename or remove another user's
 * files). And unencrypted, the file names are the keys (session ids): the directory must not be
 * readable (listable) by group or others either. Checked at start-up, and again whenever the
 * directory is found replaced (see `DirectoryGuard`). Files are judged likewise on every read
 * (see `trustedOwners`).
 */
import fs from 'node:fs'
import path from 'node:path'
import { errorCode, ioError, JsonFileRepositoryError } from './errors'
import { lstat } from './file-io'
import type { Logger } from './options'

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

/** What the guard of a directory enforces. */
export interface DirectoryRules {
  /** The owners trusted (see `trustedOwners`): `undefined` checks nothing. */
  owners: ReadonlySet<number> | undefined
  /**
   * What to do with a directory that group or others can list: refuse it (its names are the
   * keys, and entries are written there) or only warn (names are keyed hashes, or nothing is
   * written).
   */
  listable: 'refuse' | 'warn'
  logger: Logger
}

/**
 * Checks a directory at start-up, then before each write that it is still the one checked: a
 * directory removed while the store runs and made again (by us, or by another user in a sticky
 * parent such as /tmp) is checked again before anything is written into it.
 */
export class DirectoryGuard {
  readonly #directory: string
  readonly #rules: DirectoryRules
  /** What the checks of the directory checked last depend on (see `identity`). */
  #checked: string | undefined

  constructor(directory: string, rules: DirectoryRules) {
    this.#directory = directory
    this.#rules = rules
  }

  /**
   * Checks the directory (a real path, without symlinks) and its parents now; messages name
   * them, for whoever starts the program.
   * @throws {JsonFileRepositoryError} `ERR_UNSAFE_DIRECTORY` naming the first that fails, why,
   *   and how to fix it; `ERR_IO` when one cannot be stat'ed.
   */
  check(): void {
    this.#check(true)
  }

  /**
   * Checks the directory again if it is not the one checked last (see `identity`: it was
   * removed and made again, or replaced, or its mode changed). A missing directory passes: the write that follows makes it,
   * and calls this again. Messages name no path: they may reach an HTTP response.
   * @throws {JsonFileRepositoryError} `ERR_UNSAFE_DIRECTORY`; `ERR_IO` when it cannot be
   *   stat'ed.
   */
  async verify(): Promise<void> {
    if (this.#rules.owners === undefined) return
    let stats: fs.Stats
    try {
      stats = await lstat(this.#directory)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return
      throw ioError('check', '', this.#directory, error)
    }
    if (identity(stats) === this.#checked) return
    // A file there: the write fails with ENOTDIR. A symlink would be followed: it is refused.
    if (!stats.isDirectory() && !stats.isSymbolicLink()) return
    this.#check(false)
  }

  #check(named: boolean): void {
    const owners = this.#rules.owners
    if (owners === undefined) return
    const directory = this.#directory
    const refuse = (shown: string, problem: string) => {
      const what = named
        ? `the directory ${shown}`
        : `to write into ${shown}, made again or replaced since it was checked`
      return new JsonFileRepositoryError('ERR_UNSAFE_DIRECTORY', `Refusing ${what}: ${problem}`, {
        file: directory,
      })
    }
    for (let current = directory; ; current = path.dirname(current)) {
      const shown = named
        ? current === directory
          ? current
          : `${current} (a parent of ${directory})`
        : current === directory
          ? 'the directory'
          : 'a parent of the directory'
      let stats: fs.Stats
      try {
        // The directory itself by `lstat`: found replaced by a symlink, it is refused below.
        stats = current === directory ? fs.lstatSync(current) : fs.statSync(current)
      } catch (error) {
        throw new JsonFileRepositoryError(
          'ERR_IO',
          named
            ? `Cannot check the directory ${current}: ${(error as Error).message}`
            : `Cannot check ${shown}: ${errorCode(error) ?? (error as Error).message}`,
          { file: directory, cause: error },
        )
      }
      if (!stats.isDirectory()) throw refuse(shown, 'it is not a directory')
      const fix = named ? current : '<directory>'
      const problem = unsafety(stats, owners, fix)
      if (problem !== undefined) throw refuse(shown, problem)
      if (current === directory) {
        this.#listable(stats, (problem) => refuse(shown, problem), fix)
        this.#checked = identity(stats)
      }
      if (path.dirname(current) === current) return
    }
  }

  /** Refuses or reports a directory that group or others can list (see `DirectoryRules`). */
  #listable(
    stats: fs.Stats,
    refuse: (problem: string) => JsonFileRepositoryError,
    fix: string,
  ): void {
    const mode = stats.mode & 0o7777
    if ((mode & 0o044) === 0) return
    const who = mode & 0o004 ? 'others' : 'its group'
    const shown = `mode ${mode.toString(8).padStart(4, '0')}`
    if (this.#rules.listable === 'refuse') {
      throw refuse(
        `it is readable by ${who} (${shown}), who can list its file names, which are the keys (session ids) unencrypted; run chmod 700 ${fix} (and leave \`directoryMode\` at 0o700), or turn \`encryption\` on (names are then keyed hashes), ${HOW_TO_OPT_OUT}`,
      )
    }
    this.#rules.logger.warn(
      { mode },
      `The directory is readable by ${who} (${shown}): they can list its file names (with encryption, keyed hashes that reveal no key, but how many entries there are); run chmod 700 ${fix}`,
    )
  }
}

/**
 * What tells a directory from the one checked before: not its inode alone, which a directory
 * made again right after the removal often reuses, but also what the checks judge (owner and
 * mode: a directory that agrees on all of them passes as the one checked did) and, where the
 * filesystem keeps it, its birth time.
 */
function identity(stats: fs.Stats): string {
  return [stats.dev, stats.ino, stats.uid, stats.mode, stats.birthtimeMs].join(':')
}

/** What is wrong with a directory, and how to fix it (`chmod` on `fix`), or `undefined`. */
function unsafety(stats: fs.Stats, owners: ReadonlySet<number>, fix: string): string | undefined {
  if (!owners.has(stats.uid)) {
    return `it is owned by uid ${stats.uid}, neither this process's user (uid ${process.geteuid?.()}) nor root, who could replace or remove its files; run as its owner or give it to this user (chown), ${HOW_TO_OPT_OUT}`
  }
  const mode = stats.mode & 0o7777
  if ((mode & 0o022) !== 0 && (mode & STICKY) === 0) {
    return `it is writable by ${mode & 0o002 ? 'others' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}) without the sticky bit, so other users could replace or remove its files; remove the write bits (chmod go-w ${fix}), ${HOW_TO_OPT_OUT}`
  }
  return undefined
}

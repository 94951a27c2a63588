/**
 * The few file operations the repository needs, over Node's callback `fs` API (on Node 20 it
 * is markedly faster than `fs.promises` for small files).
 */
import fs from 'node:fs'
import { promisify } from 'node:util'

export const open = promisify(fs.open)
export const close = promisify(fs.close)
export const fstat = promisify(fs.fstat)
export const lstat = promisify(fs.lstat)
export const futimes = promisify(fs.futimes)
export const fsync = promisify(fs.fsync)
export const rename = promisify(fs.rename)
export const unlink = promisify(fs.unlink)

/** What identifies one version of a file: a write makes a new inode, a touch a new ctime. */
export interface Signature {
  ino: number
  size: number
  mtimeMs: number
  ctimeMs: number
}

export function sameSignature(a: Signature, b: Signature): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs
}

export function signature(stats: fs.Stats): Signature {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs }
}

/** The result of reading a file that exists but is not a regular file we may read. */
export interface NotAFile {
  notAFile: string
  /** Those of the file opened and refused (none for a symbolic link, which is not opened). */
  stats?: fs.Stats
}

// O_NOFOLLOW: a symlink is refused (ELOOP), never followed out of the directory.
// O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer.
export const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK

/** What a read accepts: a file larger than `maxSize` or with an owner not in `owners` is refused. */
export interface ReadLimits {
  /** Most bytes read: a larger file is never read into memory. */
  maxSize: number
  /** The uids whose files may be read; `undefined` for any. */
  owners: ReadonlySet<number> | undefined
}

/**
 * Reads a whole regular file without following a symlink. Resolves to `undefined` when it is
 * missing, to `{ notAFile }` when it is a symlink, directory, FIFO or other special file, is
 * larger than `limits.maxSize` or owned by another user. The size and the owner come from the
 * `fstat` of the opened file, before anything is allocated; at most the size seen then is read,
 * so a file that grows meanwhile reads truncated (and fails to parse).
 * Written with plain callbacks: this is the path of every cold read, and a chain of promises
 * costs it about a third of its speed.
 */
export function readRegularFile(
  file: string,
  limits: ReadLimits,
): Promise<{ text: string; stats: fs.Stats } | NotAFile | undefined> {
  return new Promise((resolve, reject) => {
    fs.open(file, READ_FLAGS, (error, fd) => {
      if (error) {
        if (error.code === 'ENOENT') resolve(undefined)
        else if (error.code === 'ELOOP') resolve({ notAFile: 'a symbolic link' })
        else reject(error)
        return
      }
      // Every path below closes `fd` once, then settles with what it found.
      const finish = (result: Awaited<ReturnType<typeof readRegularFile>>, failure?: Error) => {
        fs.close(fd, (closeError) => {
          const error = failure ?? closeError
          if (error) reject(error)
          else resolve(result)
        })
      }
      fs.fstat(fd, (error, stats) => {
        if (error) return finish(undefined, error)
        const refused = refusal(stats, limits)
        if (refused !== undefined) return finish({ notAFile: refused, stats })
        const buffer = Buffer.allocUnsafe(stats.size)
        const readFrom = (offset: number) => {
          if (offset === buffer.length) return finish({ text: buffer.toString('utf8'), stats })
          fs.read(fd, buffer, offset, buffer.length - offset, offset, (error, bytesRead) => {
            if (error) return finish(undefined, error)
            if (bytesRead === 0) return finish({ text: buffer.toString('utf8', 0, offset), stats })
            readFrom(offset + bytesRead)
          })
        }
        readFrom(0)
      })
    })
  })
}

/** Why a file with these stats is not read, or `undefined` when it may be. */
function refusal(stats: fs.Stats, { maxSize, owners }: ReadLimits): string | undefined {
  if (!stats.isFile()) return stats.isDirectory() ? 'a directory' : 'a special file'
  if (stats.size > maxSize) return `larger than maxFileSize (${stats.size} > ${maxSize} bytes)`
  if (owners !== undefined && !owners.has(stats.uid)) {
    return `owned by another user (uid ${stats.uid})`
  }
  return undefined
}

export interface AtomicWriteOptions {
  /** Mode of the new file. */
  mode: number
  /** Whether `mode` must be set explicitly because the umask would narrow it. */
  chmod: boolean
  /** Modification time to give the file before it becomes visible, in seconds. */
  mtime: number
  /** Whether to flush the data to disk before the rename. */
  fsync: boolean
  /**
   * Checked last before the rename (or link): the write goes on only if it calls back `true`,
   * else the temp file is removed and nothing is written. Whatever changes the directory
   * between this check and the rename is the one-operation window every writer has.
   */
  check?: Check
  /**
   * Never replace a file already at `file`: the write then fails with `EEXIST`. The temp file is
   * linked to `file` (which fails if it exists, atomically) and unlinked, instead of renamed.
   */
  exclusive?: boolean
}

/**
 * Writes `data` to `temp`, then renames it over `file`: readers see the old or the new whole
 * file, never a part. Resolves to the stats of the new file as it is after the rename, or to
 * `undefined` when `check` said not to write.
 *
 * This is write-file-atomic's recipe (a uniquely named temp file in the same directory, fsync,
 * rename, clean-up in `finally`) written out rather than called, for two guarantees that
 * library cannot give: the expiry (the mtime) must be on the file *before* the rename makes it
 * visible, or a crash between the rename and a later `utimes` leaves a live entry that looks
 * expired; and write-file-atomic resolves the target with `realpath`, so a symlink planted at
 * `file` would redirect the write out of the directory, whereas `rename` replaces the link.
 */
export function writeFileAtomic(
  file: string,
  temp: string,
  data: string,
  options: AtomicWriteOptions,
): Promise<fs.Stats | undefined> {
  // Plain callbacks, as in readRegularFile: seven file operations make the path of every write.
  return new Promise((resolve, reject) => {
    // 'wx': O_EXCL, so a file or symlink already at `temp` is never written through.
    fs.open(temp, 'wx', options.mode, (error, fd) => {
      if (error) return reject(error)
      let renamed = false
      let refused = false
      let stats: fs.Stats
      series(
        [
          (done) => writeAll(fd, Buffer.from(data), 0, done),
          (done) => (options.chmod ? fs.fchmod(fd, options.mode, done) : done(null)),
          (done) => fs.futimes(fd, options.mtime, options.mtime, done),
          (done) => (options.fsync ? fs.fsync(fd, done) : done(null)),
          (done) => {
            if (!options.check) return done(null)
            options.check((error, proceed) => {
              refused = proceed !== true
              done(error)
            })
          },
          (done) => {
            if (refused) return done(null)
            if (!options.exclusive) return fs.rename(temp, file, done)
            fs.link(temp, file, (error) => (error ? done(error) : fs.unlink(temp, done)))
          },
          (done) => {
            if (refused) return done(null)
            renamed = true
            // Stats of our inode taken after the rename (which moves its ctime): if another
            // process replaces the file after us, its inode differs and caches see the change.
            fs.fstat(fd, (error, result) => {
              stats = result
              done(error)
            })
          },
        ],
        (error) => {
          fs.close(fd, () => {
            if (renamed && !error) resolve(stats)
            else if (renamed) reject(error)
            else fs.unlink(temp, () => (error ? reject(error) : resolve(undefined)))
          })
        },
      )
    })
  })
}

type Step = (done: (error: Error | null) => void) => void

/** A condition checked with callbacks (see `AtomicWriteOptions.check`). */
export type Check = (done: (error: Error | null, proceed?: boolean) => void) => void

/**
 * A check that passes when `file` exists and is a regular file, or when `existing` is `false`,
 * when it does not: each of `files` in turn for `existing`, all of them for not.
 */
export function filesExist(files: readonly string[], existing: boolean): Check {
  return (done) => {
    const next = (index: number) => {
      const file = files[index]
      if (file === undefined) return done(null, !existing)
      fs.lstat(file, (error, stats) => {
        if (error && error.code !== 'ENOENT') return done(error)
        if (!error && stats.isFile()) return done(null, existing)
        next(index + 1)
      })
    }
    next(0)
  }
}

/**
 * A check that passes while `file` is still the version seen with `seen`: the file a writer
 * read and is about to replace or convert has been neither removed (a logout) nor rewritten.
 */
export function stillSame(file: string, seen: Signature): Check {
  return (done) =>
    fs.lstat(file, (error, stats) => {
      if (error) done(error.code === 'ENOENT' ? null : error, false)
      else done(null, sameSignature(stats, seen))
    })
}

/** A check that passes when every one of `checks` does (in order, stopping at the first no). */
export function allOf(checks: readonly Check[]): Check {
  return (done) => {
    const next = (index: number) => {
      const check = checks[index]
      if (check === undefined) return done(null, true)
      check((error, proceed) => (error || !proceed ? done(error, false) : next(index + 1)))
    }
    next(0)
  }
}

/** Runs callback-style steps one after the other, then `done` with the first error, if any. */
function series(steps: Step[], done: (error: Error | null) => void): void {
  const run = (index: number) => (error: Error | null) => {
    const step = steps[index]
    if (error || step === undefined) done(error)
    else step(run(index + 1))
  }
  run(0)(null)
}

function writeAll(fd: number, buffer: Buffer, offset: number, done: (error: Error | null) => void) {
  fs.write(fd, buffer, offset, buffer.length - offset, null, (error, written) => {
    if (error || offset + written === buffer.length) done(error)
    else writeAll(fd, buffer, offset + written, done)
  })
}

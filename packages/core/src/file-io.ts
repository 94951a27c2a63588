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
export const read = promisify(fs.read)
export const writeFile = promisify(fs.writeFile)
export const futimes = promisify(fs.futimes)
export const fsync = promisify(fs.fsync)
export const fchmod = promisify(fs.fchmod)
export const chmod = promisify(fs.chmod)
export const rename = promisify(fs.rename)
export const unlink = promisify(fs.unlink)
export const mkdir = promisify(fs.mkdir)

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
}

// O_NOFOLLOW: a symlink is refused (ELOOP), never followed out of the directory.
// O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer.
export const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK

/**
 * Reads a whole regular file without following a symlink. Resolves to `undefined` when it is
 * missing, to `{ notAFile }` when it is a symlink, directory, FIFO or other special file.
 */
export async function readRegularFile(
  file: string,
): Promise<{ text: string; stats: fs.Stats } | NotAFile | undefined> {
  let fd: number
  try {
    fd = await open(file, READ_FLAGS)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    if (code === 'ELOOP') return { notAFile: 'a symbolic link' }
    throw error
  }
  try {
    const stats = await fstat(fd)
    if (!stats.isFile()) return { notAFile: stats.isDirectory() ? 'a directory' : 'a special file' }
    const buffer = Buffer.allocUnsafe(stats.size)
    let length = 0
    while (length < buffer.length) {
      const { bytesRead } = await read(fd, buffer, length, buffer.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
    }
    return { text: buffer.toString('utf8', 0, length), stats }
  } finally {
    await close(fd)
  }
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
}

/**
 * Writes `data` to `temp`, then renames it over `file`: readers see the old or the new whole
 * file, never a part. Resolves to the stats of the new file as it is after the rename.
 *
 * This is write-file-atomic's recipe (a uniquely named temp file in the same directory, fsync,
 * rename, clean-up in `finally`) written out rather than called, for two guarantees that
 * library cannot give: the expiry (the mtime) must be on the file *before* the rename makes it
 * visible, or a crash between the rename and a later `utimes` leaves a live entry that looks
 * expired; and write-file-atomic resolves the target with `realpath`, so a symlink planted at
 * `file` would redirect the write out of the directory, whereas `rename` replaces the link.
 */
export async function writeFileAtomic(
  file: string,
  temp: string,
  data: string,
  options: AtomicWriteOptions,
): Promise<fs.Stats> {
  // 'wx': O_EXCL, so a file or symlink already at `temp` is never written through.
  const fd = await open(temp, 'wx', options.mode)
  let renamed = false
  try {
    await writeFile(fd, data)
    if (options.chmod) await fchmod(fd, options.mode)
    await futimes(fd, options.mtime, options.mtime)
    if (options.fsync) await fsync(fd)
    await rename(temp, file)
    renamed = true
    // Stats of our inode taken after the rename (which moves its ctime): if another process
    // replaces the file after us, its inode differs from this one and caches see the change.
    return await fstat(fd)
  } finally {
    await close(fd).catch(() => {})
    if (!renamed) await unlink(temp).catch(() => {})
  }
}

/**
 * Shared by the core tests: the path of the built package that child processes load, its copy
 * for another user, mounts and snapshots of a directory. What every package's tests share (temp
 * directories, a logger that remembers what it was told, waits, a faked clock) comes from
 * `@json-file-repository/test-helpers`, and is passed on from here.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { listNames, waitFor } from '@json-file-repository/test-helpers'

export {
  call,
  fakeClock,
  type LogRecord,
  listNames,
  makeTempDirectory,
  memoryLogger,
  NOT_THE_CLOCK,
  removeDirectory,
  sleep,
  thrown,
  waitFor,
} from '@json-file-repository/test-helpers'

export const packageDirectory = path.resolve(__dirname, '..')
export const fixturesDirectory = path.join(__dirname, 'fixtures')

/**
 * The built package (`dist`), which child processes `require`. Fails loudly when it is missing
 * or older than the sources, rather than testing stale code.
 */
export function builtPackage(): string {
  const dist = path.join(packageDirectory, 'dist')
  const index = path.join(dist, 'index.js')
  const hint = 'run `pnpm --filter json-file-repository build` first'
  if (!fs.existsSync(index)) throw new Error(`${index} is missing: ${hint}`)
  const src = path.join(packageDirectory, 'src')
  // The library's own files; cli.ts is not needed by the tests that run the built package.
  // A folder's time moves with any file added or renamed in it (git does): files alone count.
  for (const name of fs
    .readdirSync(src)
    .filter((name) => name.endsWith('.ts') && name !== 'cli.ts')) {
    const built = path.join(dist, name.replace(/\.ts$/, '.js'))
    if (
      !fs.existsSync(built) ||
      fs.statSync(built).mtimeMs < fs.statSync(path.join(src, name)).mtimeMs
    ) {
      throw new Error(`${built} is older than src/${name}: ${hint}`)
    }
  }
  return dist
}

/**
 * A copy of the built package (`package.json`, `dist` and its dependencies) in `directory`,
 * readable by every user, for a child process run as another user: that user may not reach the
 * checkout (a clone in a private, 0700 directory), nor pnpm's store it links to. `directory`
 * must be one that user can reach. Returns the copy's package directory, which `require`s as
 * the package (and `<copy>/dist/cli.js` is the command line).
 */
export function readableCopy(directory: string): string {
  builtPackage()
  const copy = path.join(directory, 'json-file-repository')
  fs.mkdirSync(copy, { recursive: true })
  fs.cpSync(path.join(packageDirectory, 'package.json'), path.join(copy, 'package.json'))
  fs.cpSync(path.join(packageDirectory, 'dist'), path.join(copy, 'dist'), { recursive: true })
  const { dependencies } = JSON.parse(
    fs.readFileSync(path.join(packageDirectory, 'package.json'), 'utf8'),
  ) as { dependencies: Record<string, string> }
  for (const name of Object.keys(dependencies)) {
    // pnpm links each dependency into its store: copy what the link points to (the core's
    // dependencies have none of their own).
    const source = fs.realpathSync(path.join(packageDirectory, 'node_modules', name))
    fs.cpSync(source, path.join(copy, 'node_modules', name), { recursive: true })
  }
  for (const name of fs.readdirSync(copy, { recursive: true, encoding: 'utf8' })) {
    const file = path.join(copy, name)
    fs.chmodSync(file, fs.statSync(file).isDirectory() ? 0o755 : 0o644)
  }
  fs.chmodSync(copy, 0o755)
  return copy
}

/** The permission bits of a path. */
export function modeOf(file: string): number {
  return fs.statSync(file).mode & 0o777
}

/** Whether `mount` works here (it needs root and a kernel that allows it in this container). */
export function tryMount(args: string[]): string | undefined {
  try {
    execFileSync('mount', args, { stdio: 'pipe' })
    return undefined
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim()
    return stderr || (error as Error).message
  }
}

export function unmount(directory: string): void {
  try {
    execFileSync('umount', [directory], { stdio: 'pipe' })
  } catch {
    // Not mounted (the test was skipped) or already unmounted.
  }
}

/**
 * Waits until every one of `files` has a change time more than `ms` ago, as `prune()` judges the
 * age of a temp file (its ctime, which no test can set back): a wait for that condition, not a
 * fixed sleep.
 */
export async function waitUntilOlderThan(files: string[], ms: number): Promise<void> {
  const old = () => files.every((file) => Date.now() - fs.statSync(file).ctimeMs > ms)
  if (!(await waitFor(old))) throw new Error(`${files.join(', ')} never got ${ms} ms old`)
}

/**
 * What every name in `directory` is, byte for byte and stat for stat (mode, inode, size, links,
 * mtime, ctime; not atime, which reading moves), and the directory's own stat: two snapshots
 * are equal only if nothing was created, removed, renamed, written or touched in between.
 */
export function directorySnapshot(directory: string): Record<string, object> {
  const describe = (file: string) => {
    const { mode, ino, size, nlink, mtimeMs, ctimeMs } = fs.lstatSync(file)
    const content = fs.lstatSync(file).isFile()
      ? createHash('sha256').update(fs.readFileSync(file)).digest('hex')
      : undefined
    return { mode, ino, size, nlink, mtimeMs, ctimeMs, content }
  }
  const snapshot: Record<string, object> = { '.': describe(directory) }
  for (const name of listNames(directory)) snapshot[name] = describe(path.join(directory, name))
  return snapshot
}

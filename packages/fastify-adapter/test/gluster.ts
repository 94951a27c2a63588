/**
 * A one-brick GlusterFS volume on this machine, mounted several times with `mount -t glusterfs`:
 * each mount is a FUSE client with caches of its own, as each host of a cluster has. Loopback
 * only: a glusterd started here listens on 127.0.0.1, and the brick's host is {@link BRICK_HOST}.
 *
 * The mounts use the options the core README's GlusterFS recipe gives, which make every client
 * see every other's change on its next system call.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * 127.0.0.1, in the short form `inet_aton` reads: the gluster command refuses `localhost` and
 * `127.0.0.1` as a brick's host (a brick must be reachable from other peers), not this.
 */
const BRICK_HOST = '127.1'

/** The FUSE client options of the recipe: no attribute, entry or negative cache in the kernel. */
export const MOUNT_OPTIONS = 'attribute-timeout=0,entry-timeout=0,negative-timeout=0'
/** The volume options of the recipe: the client-side caches and write-behind off. */
export const VOLUME_OPTIONS = [
  'performance.stat-prefetch',
  'performance.quick-read',
  'performance.io-cache',
  'performance.read-ahead',
  'performance.write-behind',
  'performance.open-behind',
].map((name) => [name, 'off'] as const)

/** What makes a volume impossible here: glusterd does not start, or FUSE refuses to mount. */
export class Unavailable extends Error {}

/** `error` of a command, as an {@link Unavailable} that says which and why. */
function unavailableBy(what: string, error: unknown): Unavailable {
  const { stderr, message } = error as { stderr?: string; message: string }
  return new Unavailable(`${what} failed: ${(stderr || message).trim()}`)
}

export interface GlusterVolume {
  name: string
  /** The mount points, one per client. */
  mounts: string[]
  /** Unmounts, stops and deletes the volume, and removes its directories; never throws. */
  cleanUp(): Promise<void>
}

/** Runs `gluster` in script mode (no questions), with a generous deadline. */
async function gluster(...args: string[]): Promise<string> {
  return (await run('gluster', ['--mode=script', ...args], { timeout: 60_000 })).stdout
}

function commandExists(name: string): boolean {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .concat('/usr/sbin', '/sbin')
    .some((directory) => fs.existsSync(path.join(directory, name)))
}

/** Whether glusterd answers (`gluster pool list` talks to it). */
async function glusterdAnswers(): Promise<boolean> {
  try {
    await run('gluster', ['--mode=script', 'pool', 'list'], { timeout: 10_000 })
    return true
  } catch {
    return false
  }
}

/** Why a Gluster volume cannot be made here, or `undefined` when it can be tried. */
export async function unavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'GlusterFS needs Linux'
  if (process.getuid?.() !== 0) return 'mounting a GlusterFS volume needs root'
  if (!fs.existsSync('/dev/fuse')) return 'there is no /dev/fuse (FUSE is unavailable)'
  for (const command of ['gluster', 'glusterd', 'mount.glusterfs']) {
    if (!commandExists(command)) {
      return `${command} is missing (Debian: apt-get install glusterfs-server glusterfs-client)`
    }
  }
  return undefined
}

/**
 * Makes a volume of one brick in a temporary directory, with the recipe's options (or Gluster's
 * defaults when `coherent` is false, to measure them), and mounts it `count` times; starts
 * glusterd first when it is not running (and stops it in `cleanUp`).
 * @throws {Unavailable} When glusterd does not start or the mount fails; else what a failing
 *   step reports (its command's stderr). Either after undoing the steps done.
 */
export async function makeVolume(count: number, coherent = true): Promise<GlusterVolume> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jfr-gluster-'))
  const name = `jfr-${randomBytes(4).toString('hex')}`
  const mounts: string[] = []
  // What undoes each step done so far, run last first.
  const undo: (() => Promise<unknown>)[] = [async () => fs.rmSync(root, { recursive: true })]
  const cleanUp = async () => {
    for (const step of undo.reverse()) await step().catch(() => {})
    undo.length = 0
  }
  try {
    if (!(await glusterdAnswers())) await startGlusterd(root, undo)
    const brick = path.join(root, 'brick')
    fs.mkdirSync(brick)
    // `force`: the brick is on the root file system, which gluster otherwise refuses.
    await gluster('volume', 'create', name, `${BRICK_HOST}:${brick}`, 'force')
    undo.push(() => gluster('volume', 'delete', name))
    for (const [option, value] of coherent ? VOLUME_OPTIONS : []) {
      await gluster('volume', 'set', name, option, value)
    }
    await gluster('volume', 'start', name)
    undo.push(() => gluster('volume', 'stop', name, 'force'))
    for (let i = 0; i < count; i++) {
      const mount = path.join(root, `mount-${i}`)
      fs.mkdirSync(mount)
      const options = coherent ? ['-o', MOUNT_OPTIONS] : []
      await run('mount', ['-t', 'glusterfs', ...options, `127.0.0.1:/${name}`, mount], {
        timeout: 60_000,
      }).catch((error) => {
        throw unavailableBy('mount -t glusterfs', error)
      })
      undo.push(() => unmount(mount))
      mounts.push(mount)
    }
    return { name, mounts, cleanUp }
  } catch (error) {
    await cleanUp()
    throw error
  }
}

/** Starts glusterd listening on 127.0.0.1 only, and waits until it answers. */
async function startGlusterd(root: string, undo: (() => Promise<unknown>)[]): Promise<void> {
  const volfile = path.join(root, 'glusterd.vol')
  const pidFile = path.join(root, 'glusterd.pid')
  const defaults = fs.readFileSync('/etc/glusterfs/glusterd.vol', 'utf8')
  fs.writeFileSync(
    volfile,
    defaults.replace(
      /^end-volume/m,
      '    option transport.socket.bind-address 127.0.0.1\nend-volume',
    ),
  )
  await run('glusterd', ['-f', volfile, `--pid-file=${pidFile}`], { timeout: 60_000 }).catch(
    (error) => {
      throw unavailableBy('glusterd', error)
    },
  )
  undo.push(async () => {
    const pid = Number(fs.readFileSync(pidFile, 'utf8'))
    process.kill(pid)
    await waitUntil(async () => !alive(pid))
  })
  if (!(await waitUntil(glusterdAnswers))) throw new Unavailable('glusterd does not answer')
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function unmount(mount: string): Promise<void> {
  // A lazy unmount when the plain one fails (a process still in the mount, on a failed run).
  await run('umount', [mount], { timeout: 60_000 }).catch(() =>
    run('umount', ['-l', mount], { timeout: 60_000 }),
  )
}

/** Calls `condition` until it holds, for up to 60 s; whether it held. */
async function waitUntil(condition: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

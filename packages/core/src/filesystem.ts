/**
 * Which filesystem the directory is on, looked at once at start-up: on a network filesystem,
 * hosts see each other's changes only with the mount options of the README's recipe, so the
 * logger is told where the recipe is. Never refuses a directory, and costs nothing per request.
 */
import fs from 'node:fs'
import type { Logger } from './options'

/** The README section with a recipe per network filesystem. */
export const RECIPE_URL =
  'https://github.com/json-file-repository/json-file-repository/tree/main/packages/core#several-hosts-on-one-shared-filesystem'

/** `statfs(2)`'s `f_type` of the network filesystems (Linux's `linux/magic.h`). */
const NETWORK_TYPES = new Map([
  [0x6969, 'nfs'],
  [0x65735546, 'fuse'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x517b, 'smb'],
  [0x00c36400, 'ceph'],
])

/**
 * The name of the network filesystem `directory` is on (`nfs4`, `fuse.glusterfs`, `cifs`,
 * `ceph`: the mount's type where `/proc/self/mounts` tells it, else the family `statfs` gives),
 * or `undefined` for any other filesystem.
 * @throws What `fs.statfs` throws (a missing directory: `ENOENT`).
 */
export async function networkFilesystem(directory: string): Promise<string | undefined> {
  const family = NETWORK_TYPES.get((await fs.promises.statfs(directory)).type)
  if (family === undefined) return undefined
  return (await mountType(directory)) ?? family
}

/** The type of the mount that holds `directory` (an absolute real path), from /proc. */
async function mountType(directory: string): Promise<string | undefined> {
  let mounts: string
  try {
    mounts = await fs.promises.readFile('/proc/self/mounts', 'utf8')
  } catch {
    return undefined
  }
  let best: { point: string; type: string } | undefined
  for (const line of mounts.split('\n')) {
    const [, escaped, type] = line.split(' ')
    if (escaped === undefined || type === undefined) continue
    // Spaces and the like are octal escapes there (`\040`).
    const point = escaped.replace(/\\([0-7]{3})/g, (_, octal) =>
      String.fromCharCode(parseInt(octal, 8)),
    )
    const holds = point === '/' || directory === point || directory.startsWith(`${point}/`)
    if (holds && point.length >= (best?.point.length ?? 0)) best = { point, type }
  }
  return best?.type
}

/**
 * Tells `logger`, at info and once, when `directory` is on a network filesystem; resolves to
 * its name (see {@link networkFilesystem}), or `undefined` for another filesystem or when it
 * cannot be found out. In the background: start-up never waits for it.
 * @throws Never (the promise never rejects).
 */
export async function announceFilesystem(
  directory: string,
  logger: Logger,
): Promise<string | undefined> {
  const filesystem = await networkFilesystem(directory).catch(() => undefined)
  if (filesystem !== undefined) {
    try {
      logger.info?.(
        { filesystem },
        `the directory is on a network filesystem (${filesystem}): several hosts see each other's changes only with the mount options of ${RECIPE_URL}`,
      )
    } catch {
      // A logger that throws does not keep the cached reads from learning the filesystem.
    }
  }
  return filesystem
}

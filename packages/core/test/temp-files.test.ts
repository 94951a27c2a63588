/**
 * Temp files on a directory several hosts share: a writer's pid only means something in its
 * own pid namespace (its host, or its container). `prune` run in another one must not take a
 * live writer's temp file for a crashed one's. Another pid namespace is made here with
 * `unshare --pid` (root only; skipped elsewhere, with the reason).
 */
import { execFile, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { tempFileName } from '../src/keys'
import { makeTempDirectory, removeDirectory, waitUntilOlderThan } from './helpers'

jest.setTimeout(60_000)

const cli = path.resolve(__dirname, '../dist/cli.js')
const UNSHARE = ['--pid', '--fork', '--mount-proc']
const SKIP =
  process.getuid?.() !== 0
    ? 'unshare --pid needs root'
    : spawnSync('unshare', [...UNSHARE, 'true']).status !== 0
      ? `unshare ${UNSHARE.join(' ')} fails here`
      : undefined
if (SKIP) console.log(`Skipped the temp files of another pid namespace: ${SKIP}`)

let dir: string
beforeEach(() => {
  dir = makeTempDirectory('temp-files')
  fs.chmodSync(dir, 0o700)
})
afterEach(() => removeDirectory(dir))

/** Runs `prune` in a pid namespace of its own, as on another host: its output. */
async function pruneElsewhere(): Promise<string> {
  const { stdout } = await promisify(execFile)('unshare', [
    ...UNSHARE,
    process.execPath,
    cli,
    'prune',
    dir,
  ])
  return stdout
}

test("prune in another pid namespace leaves the temp file of a live writer; in its own, it removes a dead writer's", async () => {
  if (SKIP) return
  // A temp file of this process, which is alive and could be writing it (as a server on
  // another host writes), past the second a young temp file is spared.
  const live = path.join(dir, tempFileName('k.json', '0a1b2c3d1'))
  fs.writeFileSync(live, '{')
  await waitUntilOlderThan([live], 1000)
  // This pid does not exist over there: the name says the pid is of another namespace.
  expect(await pruneElsewhere()).toBe(
    'pruned 0 expired entries, 0 stale temp files, 0 quarantined files\n',
  )
  expect(fs.existsSync(live)).toBe(true)
  // In this namespace, a temp file of a writer that is gone (no pid is that high) is removed.
  const dead = path.join(
    dir,
    tempFileName('k.json', '0a1b2c3d2').replace(`.${process.pid}.`, '.4194305.'),
  )
  fs.writeFileSync(dead, '{')
  await waitUntilOlderThan([dead], 1000)
  const { stdout } = await promisify(execFile)(process.execPath, [cli, 'prune', dir])
  expect(stdout).toBe('pruned 0 expired entries, 1 stale temp file, 0 quarantined files\n')
  expect(fs.readdirSync(dir)).toEqual([path.basename(live)])
})

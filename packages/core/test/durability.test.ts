/**
 * With `fsync` on, a write or delete that has resolved survives a power loss: the directory is
 * flushed after the rename or unlink, before the promise resolves, and concurrent writes share
 * the flushes (group commit). Checked on the system calls a real process makes, under strace.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { builtPackage, fixturesDirectory, makeTempDirectory, removeDirectory } from './helpers'

/** One system call: its name, its arguments as strace -y shows them, and where it began and ended. */
interface Call {
  name: string
  args: string
  start: number
  end: number
}

/** Why strace cannot run here, or `undefined` when it can. */
function straceUnavailable(): string | undefined {
  const result = spawnSync('strace', ['-f', '-o', '/dev/null', 'true'], { encoding: 'utf8' })
  if (result.error) return `strace is not installed (${result.error.message})`
  if (result.status !== 0) return `strace cannot trace here: ${result.stderr.trim()}`
  return undefined
}

/**
 * The calls of a trace taken with `strace -f -y`, in the order they began, with the line index of
 * their start and end (a call another thread interrupted shows as `<unfinished ...>`, then
 * `<... name resumed>`), and the line index of each `MARK` written.
 */
function parseTrace(text: string): { calls: Call[]; marks: Map<string, number> } {
  const calls: Call[] = []
  const marks = new Map<string, number>()
  const pending = new Map<string, Call>()
  text.split('\n').forEach((line, index) => {
    const resumed = /^(\d+) +<\.\.\. (\w+) resumed>/.exec(line)
    if (resumed) {
      const call = pending.get(resumed[1] as string)
      if (call) call.end = index
      pending.delete(resumed[1] as string)
      return
    }
    const started = /^(\d+) +(\w+)\((.*)$/.exec(line)
    if (!started) return
    const [, pid, name, args] = started as unknown as [string, string, string, string]
    const call = { name, args, start: index, end: index }
    calls.push(call)
    if (args.endsWith('<unfinished ...>')) pending.set(pid, call)
    const mark = /"MARK (\w+)\\n"/.exec(args)
    if (name === 'write' && mark) marks.set(mark[1] as string, index)
  })
  return { calls, marks }
}

const SKIP = straceUnavailable()
let root: string

beforeAll(() => {
  root = makeTempDirectory('durability')
  if (SKIP) console.log(`Skipped the strace tests of durability.test.ts: ${SKIP}`)
})
afterAll(() => removeDirectory(root))

/** Runs the fixture under strace; the calls on the directory's files, and where each step resolved. */
function trace(fsync: boolean) {
  const directory = fs.mkdtempSync(path.join(root, `fsync-${fsync}-`))
  const log = `${directory}.trace`
  const script = path.join(fixturesDirectory, 'durability.js')
  const calls =
    'trace=openat,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,write,utimensat'
  const command = [process.execPath, script, builtPackage(), directory, String(fsync), '32']
  execFileSync('strace', ['-f', '-y', '-o', log, '-e', calls, ...command], {
    stdio: 'pipe',
    timeout: 90_000,
  })
  const parsed = parseTrace(fs.readFileSync(log, 'utf8'))
  const real = fs.realpathSync(directory)
  const at = (name: string) => parsed.marks.get(name) ?? Number.NaN
  return {
    at,
    /** The flushes of the file `name` of the directory, between two marks. */
    fileSyncs: (name: string, from: string, to: string) =>
      parsed.calls.filter(
        (call) =>
          call.start > at(from) &&
          call.end < at(to) &&
          /^f(data)?sync$/.test(call.name) &&
          call.args.startsWith(`${fdOf(call)}<${real}/${name}>`),
      ),
    // With -y each fd shows its path: `fsync(21</tmp/…/fsync-true>)` is the directory's.
    directorySyncs: parsed.calls.filter(
      (call) => /^f(data)?sync$/.test(call.name) && call.args.startsWith(`${fdOf(call)}<${real}>`),
    ),
    /** The renames onto, or unlinks of, an entry's file, between two marks. */
    changes: (from: string, to: string) =>
      parsed.calls.filter(
        (call) =>
          call.start > at(from) &&
          call.end < at(to) &&
          (/^rename/.test(call.name) || /^unlink/.test(call.name)) &&
          new RegExp(`"${real}/\\w+\\.json"`).test(call.args),
      ),
  }
}

function fdOf(call: Call): string {
  return /^\d+/.exec(call.args)?.[0] ?? ''
}

const STEPS = [
  ['start', 'create'],
  ['create', 'update'],
  ['update', 'destroy'],
] as const

describe('with fsync on', () => {
  test('a create, an update and a destroy flush the directory after the rename or unlink, before resolving', () => {
    if (SKIP) return
    const { at, directorySyncs, changes } = trace(true)
    for (const [from, to] of STEPS) {
      const [change, ...more] = changes(from, to)
      expect({ step: to, changes: more.length + (change ? 1 : 0) }).toEqual({
        step: to,
        changes: 1,
      })
      const covering = directorySyncs.filter(
        (sync) => sync.start > (change?.end ?? Number.NaN) && sync.end < at(to),
      )
      expect({ step: to, covering: covering.length }).toEqual({ step: to, covering: 1 })
    }
  }, 120_000)

  test('concurrent writes share directory fsyncs, and each is covered by one before it resolves', () => {
    if (SKIP) return
    const { at, directorySyncs, changes } = trace(true)
    const renames = changes('destroy', 'concurrent')
    expect(renames).toHaveLength(32)
    const syncs = directorySyncs.filter((sync) => sync.start > at('destroy'))
    // Every write waits for a flush that began after its rename; group commit shares them.
    for (const rename of renames) {
      expect(syncs.some((sync) => sync.start > rename.end && sync.end < at('concurrent'))).toBe(
        true,
      )
    }
    expect(syncs.length).toBeGreaterThan(0)
    expect(syncs.length).toBeLessThan(32)
    console.log(`32 concurrent creates: ${syncs.length} directory fsyncs`)
  }, 120_000)

  test('a touch, which moves only the expiry (the file time), flushes the file before resolving', () => {
    if (SKIP) return
    const { fileSyncs } = trace(true)
    expect(fileSyncs('c0.json', 'concurrent', 'touch')).toHaveLength(1)
  }, 120_000)
})

test('with fsync off, the directory is never flushed', () => {
  if (SKIP) return
  const { directorySyncs, changes, fileSyncs } = trace(false)
  expect(fileSyncs('c0.json', 'concurrent', 'touch')).toEqual([])
  expect(changes('start', 'create')).toHaveLength(1)
  expect(changes('update', 'destroy')).toHaveLength(1)
  expect(directorySyncs).toEqual([])
}, 120_000)

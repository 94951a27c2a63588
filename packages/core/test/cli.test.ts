import { execFile, fork } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { JsonFileRepository } from '../src'
import { expiryToMtime } from '../src/expiry'
import { directorySnapshot, readableCopy, waitUntilOlderThan } from './helpers'

// Each test runs the command line in child processes: sized for a loaded machine.
jest.setTimeout(120_000)

const root = path.resolve(__dirname, '../../..')
const dist = path.join(root, 'packages/core/dist')
const cli = path.join(dist, 'cli.js')

interface Result {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs the built command line (given `options.cli`, that copy of it); never rejects, so that
 * failures can be asserted on.
 */
function runWith(
  options: { uid: number; gid: number; cli: string } | undefined,
  ...args: string[]
) {
  const { cli: program = cli, ...user } = options ?? {}
  return new Promise<Result>((resolve) => {
    execFile(process.execPath, [program, ...args], user, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr })
    })
  })
}

const run = (...args: string[]) => runWith(undefined, ...args)

/**
 * One line on stderr in the program's voice (lower case, no final period), nothing on stdout,
 * no stack trace; a usage error ends with where to find help.
 */
function expectError(result: Result, code: 1 | 2, message: RegExp): void {
  expect(result).toMatchObject({ code, stdout: '' })
  expect(result.stderr).toMatch(/^json-file-repository: [^A-Z\n][^\n]*[^.]\n$/)
  expect(result.stderr).toMatch(message)
  expect(result.stderr).not.toMatch(/\n\s+at /)
  if (code === 2) {
    expect(result.stderr).toMatch(/ \(see json-file-repository ([a-z]+ )?--help\)\n$/)
  }
}

const lines = (text: string) => text.split('\n').filter(Boolean)
const ndjson = (text: string) => lines(text).map((line) => JSON.parse(line))

let tmp: string
let dir: string
let repository: JsonFileRepository

/** Gives `key` an expiry in the past, as a server's entry that nobody pruned yet. */
async function setExpired(key: string, value: unknown): Promise<void> {
  await repository.set(key, value)
  const mtime = expiryToMtime(Date.now() - 60_000)
  fs.utimesSync(repository.path(key), mtime, mtime)
}

beforeAll(async () => {
  await promisify(execFile)('pnpm', ['--filter', 'json-file-repository', 'build'], { cwd: root })
}, 120_000)

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jfr-cli-'))
  dir = path.join(tmp, 'sessions')
  repository = new JsonFileRepository(dir, { fsync: false })
})

afterEach(async () => {
  await repository.close()
  fs.chmodSync(tmp, 0o700)
  fs.rmSync(tmp, { recursive: true, force: true })
})

describe('help and usage', () => {
  test('--help, -h and each command --help print usage and exit 0', async () => {
    for (const args of [['--help'], ['-h']]) {
      const result = await run(...args)
      expect(result).toMatchObject({ code: 0, stderr: '' })
      expect(result.stdout).toMatch(/^Usage: json-file-repository <command>/)
      for (const command of ['stats', 'ls', 'get', 'rm', 'prune', 'migrate']) {
        expect(result.stdout).toContain(`  ${command} <dir>`)
      }
    }
    for (const command of ['stats', 'ls', 'get', 'rm', 'prune', 'migrate']) {
      const result = await run(command, '--help')
      expect(result).toMatchObject({ code: 0, stderr: '' })
      expect(result.stdout).toMatch(new RegExp(`^Usage: json-file-repository ${command} <dir>`))
    }
  })

  test('--version prints the version of the package', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(dist, '../package.json'), 'utf8'))
    expect(await run('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' })
  })

  test('usage errors exit with 2, one line on stderr and a hint to --help', async () => {
    expectError(await run(), 2, /: missing command \(see json-file-repository --help\)/)
    expectError(await run('frobnicate', dir), 2, /unknown command "frobnicate" \(see j/)
    expectError(await run('-x'), 2, /: unknown option -x \(see json-file-repository --help\)/)
    expectError(
      await run('ls', dir, '--colour'),
      2,
      /: unknown option --colour \(see json-file-repository ls --help\)$/m,
    )
    expectError(await run('ls', dir, '-x'), 2, /: unknown option -x \(see json-file-repository ls/)
    expectError(await run('ls', dir, '--json=yes'), 2, /: option --json takes no value \(see/)
    expectError(await run('ls'), 2, /usage: json-file-repository ls <dir>/)
    expectError(await run('get', dir), 2, /usage: json-file-repository get <dir> <key>/)
    expectError(await run('get', dir, 'a', 'b'), 2, /usage/)
    expectError(await run('prune', dir, 'extra'), 2, /usage/)
    expectError(await run('rm', dir), 2, /either keys or --where/)
    expectError(await run('rm', dir, 'a', '--where', 'x=1'), 2, /either keys or --where/)
    expectError(await run('rm', dir, '--where', 'novalue'), 2, /--where wants <path>=<value>/)
    expectError(await run('rm', dir, '--where'), 2, /: option --where needs a value \(see j/)
    expectError(await run('rm', dir, '--where', '--dry-run'), 2, /option --where needs a value/)
  })

  test('an invalid key is a usage error and nothing is removed', async () => {
    await repository.set('a', 1)
    expectError(await run('get', dir, ''), 2, /: invalid key "": must not be empty \(see/)
    expectError(await run('get', dir, 'k'.repeat(300)), 2, /invalid key .*too long/)
    expectError(await run('rm', dir, 'a', ''), 2, /invalid key/)
    expect(await repository.get('a')).toBe(1)
  })
})

describe('directories', () => {
  test('a directory shared on purpose (0770) is opened with --allow-shared-directory only', async () => {
    await repository.set('a', 1)
    fs.chmodSync(dir, 0o770)
    // The library's own advice names its option; the command line names its flag instead.
    expectError(await run('ls', dir), 1, /writable by its group .*pass --allow-shared-directory$/m)
    expect((await run('ls', dir)).stderr).not.toContain('allowSharedDirectory')
    const listed = await run('ls', dir, '--allow-shared-directory')
    expect(listed).toMatchObject({ code: 0, stderr: '' })
    expect(lines(listed.stdout).map((line) => line.split('\t')[0])).toEqual(['a'])
    expect(await run('rm', dir, '--where', 'x=1', '--allow-shared-directory')).toMatchObject({
      code: 0,
      stdout: 'removed 0 entries\n',
    })
    expect(await run('rm', dir, 'a', '--allow-shared-directory')).toMatchObject({
      code: 0,
      stdout: 'removed 1 entry\n',
    })
  })

  test('an unknown directory exits with 1 and is not created', async () => {
    const missing = path.join(tmp, 'missing')
    for (const args of [['stats'], ['ls'], ['ls', '--expired'], ['get', 'a'], ['prune']]) {
      const [command, ...rest] = args as [string, ...string[]]
      expectError(await run(command, missing, ...rest), 1, /no such directory: .*missing/)
    }
    expectError(await run('rm', missing, 'a'), 1, /no such directory/)
    expect(fs.existsSync(missing)).toBe(false)
  })

  test('a path through a regular file (ENOTDIR) or to a file exits with 1', async () => {
    const file = path.join(tmp, 'file')
    fs.writeFileSync(file, '')
    expectError(await run('ls', path.join(file, 'sessions')), 1, /cannot open .*ENOTDIR/)
    expectError(await run('stats', file), 1, /not a directory: .*file/)
  })

  test('a directory that cannot be read or written exits with 1 (EACCES)', async () => {
    await repository.set('a', 1)
    // Root reads everything: run the command line as nobody instead, on a directory of root's,
    // from a copy nobody can read wherever the checkout is.
    const asRoot = process.getuid?.() === 0
    if (asRoot) fs.chmodSync(tmp, 0o755)
    else fs.chmodSync(dir, 0o000)
    const asNobody = asRoot
      ? { uid: 65534, gid: 65534, cli: path.join(readableCopy(tmp), 'dist', 'cli.js') }
      : undefined
    try {
      expectError(await runWith(asNobody, 'ls', dir), 1, /: cannot list .*EACCES/)
      expectError(await runWith(asNobody, 'rm', dir, 'a'), 1, /: cannot delete key "a".*EACCES/)
    } finally {
      fs.chmodSync(dir, 0o700)
    }
    expect(await repository.get('a')).toBe(1)
  })
})

describe('stats', () => {
  test('counts live and expired entries, bytes, ages, quarantined and temp files', async () => {
    await repository.set('first', { n: 1 })
    // Apart enough for the change times to tell first from second (a slow machine only widens it).
    await sleep(20)
    await repository.set('second', { n: 22 })
    await setExpired('gone', { n: 333 })
    fs.writeFileSync(path.join(dir, 'x.json.corrupt-1700000000000'), '{')
    fs.writeFileSync(path.join(dir, `.x.json.${process.pid}.abc1.tmp`), '')
    fs.writeFileSync(path.join(dir, 'README.txt'), 'foreign')

    const json = await run('stats', dir, '--json')
    expect(json).toMatchObject({ code: 0, stderr: '' })
    const first = await repository.getEntry('first')
    const second = await repository.getEntry('second')
    expect(JSON.parse(json.stdout)).toEqual({
      entries: 2,
      expired: 1,
      bytes: '{"n":1}{"n":22}{"n":333}'.length,
      oldest: { key: 'first', changedAt: first?.changedAt },
      newest: { key: 'second', changedAt: second?.changedAt },
      quarantined: 1,
      tempFiles: 1,
      legacyFiles: 0,
    })

    const text = await run('stats', dir)
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^entries: +2$/m)
    expect(text.stdout).toMatch(/^expired: +1$/m)
    expect(text.stdout).toMatch(/^oldest: +\d{4}-\d\d-\d\dT[\d:.]+Z +first$/m)
    expect(text.stdout).toMatch(/^temp files: +1$/m)
    expect(text.stdout).toMatch(/^legacy files: +0$/m)
    // Read-only: the expired entry is still there for prune to remove.
    expect(fs.existsSync(repository.path('gone'))).toBe(true)
  })
})

describe('a corrupt file, left in place by inspection', () => {
  test('is neither counted nor listed as a live entry, nor the newest', async () => {
    await repository.set('good', { n: 1 })
    // Written last, so that it would be the newest by change time.
    await waitUntilOlderThan([repository.path('good')], 20)
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"user":')
    const good = await repository.getEntry('good')

    const stats = await run('stats', dir, '--json')
    expect(stats.code).toBe(0)
    expect(JSON.parse(stats.stdout)).toMatchObject({
      entries: 1,
      oldest: { key: 'good', changedAt: good?.changedAt },
      newest: { key: 'good', changedAt: good?.changedAt },
    })
    // Reported as left in place, as `get` reports it.
    expect(stats.stderr).toMatch(/^json-file-repository: warning: .*left in place/m)
    const ls = await run('ls', dir, '--json')
    expect(ls.code).toBe(0)
    expect(ndjson(ls.stdout).map(({ key }) => key)).toEqual(['good'])
    expect(fs.readFileSync(path.join(dir, 'bad.json'), 'utf8')).toBe('{"user":')
  })
})

describe('session files of @itrocks/fastify-file-session-store 0.3 (<dir>/<id>)', () => {
  const ID = 'Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp'
  /** A session file as 0.3 wrote one: the whole session JSON, `cookie.expires` included. */
  function writeLegacy(id: string, expires: string | null, writtenAt = Date.now()): void {
    const file = path.join(dir, id)
    fs.writeFileSync(file, JSON.stringify({ cookie: { expires, path: '/' }, user: { id } }))
    fs.utimesSync(file, writtenAt / 1000, writtenAt / 1000)
  }
  const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString()

  test('stats counts them; inspection leaves them alone; rm and prune convert them with --legacy', async () => {
    writeLegacy(ID, null)
    writeLegacy('expired', hourAgo())
    writeLegacy('gone', null)
    expect(JSON.parse((await run('stats', dir, '--json')).stdout)).toMatchObject({
      entries: 0,
      legacyFiles: 3,
    })
    expect((await run('ls', dir)).stdout).toBe('')
    expectError(await run('get', dir, ID), 1, /no entry for key/)
    // Converting writes: an inspection refuses to.
    for (const args of [
      ['ls', dir],
      ['get', dir, ID],
      ['rm', dir, ID, '--dry-run'],
    ]) {
      const [command, ...rest] = args as [string, ...string[]]
      expectError(await run(command, ...rest, '--legacy'), 2, /--legacy converts files: /)
    }
    expectError(await run('prune', dir, '--ttl', '1000'), 2, /--ttl goes with --legacy/)
    expect(fs.readdirSync(dir).sort()).toEqual([ID, 'expired', 'gone'])

    // rm removes a session whichever store wrote it.
    expect(await run('rm', dir, 'gone', '--legacy')).toMatchObject({
      code: 0,
      stdout: 'removed 1 entry\n',
    })
    writeLegacy('idle', null, Date.now() - 3 * 3_600_000)
    expect(await run('prune', dir, '--legacy', '--ttl', '3600000')).toMatchObject({
      code: 0,
      stdout: 'pruned 2 expired entries, 0 stale temp files, 0 quarantined files\n',
      stderr: '',
    })
    expect(fs.readdirSync(dir)).toEqual([`${ID}.json`])
    expect(JSON.parse((await run('get', dir, ID)).stdout)).toEqual({
      cookie: { expires: null, path: '/' },
      user: { id: ID },
    })
  })

  test('migrate converts them all, then finds nothing to do', async () => {
    writeLegacy(ID, new Date(Date.now() + 3_600_000).toISOString())
    writeLegacy('idle', null, Date.now() - 2 * 3_600_000)
    writeLegacy('expired', hourAgo())
    fs.writeFileSync(path.join(dir, 'broken'), '{"cookie":')
    await repository.set('current', { user: 'new' })
    writeLegacy('current', null)
    const first = await run('migrate', dir, '--ttl', '3600000')
    expect(first).toEqual({
      code: 0,
      stdout: 'migrated 1, superseded 1, expired 2, moved aside 1\n',
      stderr: expect.stringMatching(/^json-file-repository: warning: the file of key "broken"/),
    })
    expect((await run('migrate', dir)).stdout).toBe(
      'migrated 0, superseded 0, expired 0, moved aside 0\n',
    )
    expect(
      fs
        .readdirSync(dir)
        .filter((name) => !name.startsWith('broken.corrupt-'))
        .sort(),
    ).toEqual([`${ID}.json`, 'current.json'])
    expect(await repository.get('current')).toEqual({ user: 'new' })
    expectError(await run('migrate', dir, '--ttl', 'a day'), 2, /--ttl wants a positive number/)
  })
})

describe('ls', () => {
  test('lists live entries with size, expiry and change time', async () => {
    const expiresAt = Date.now() + 3_600_000
    await repository.set('a', { user: 1 })
    await repository.set('b', [1, 2, 3], { expiresAt })
    await repository.set('tab\tkey', 'x')
    await setExpired('old', 0)

    const text = await run('ls', dir)
    expect(text).toMatchObject({ code: 0, stderr: '' })
    const rows = lines(text.stdout).map((line) => line.split('\t'))
    const changedAt = new Date((await repository.getEntry('a'))?.changedAt ?? 0).toISOString()
    expect(rows.sort()).toEqual([
      ['"tab\\tkey"', '3', 'never', expect.any(String)],
      ['a', '10', 'never', changedAt],
      ['b', '7', new Date(expiresAt).toISOString(), expect.any(String)],
    ])

    const json = await run('ls', dir, '--json')
    expect(json.code).toBe(0)
    const entries = ndjson(json.stdout).sort((x, y) => x.key.localeCompare(y.key))
    expect(entries).toEqual([
      { key: 'a', size: 10, expiresAt: null, changedAt: expect.any(Number) },
      { key: 'b', size: 7, expiresAt, changedAt: expect.any(Number) },
      { key: 'tab\tkey', size: 3, expiresAt: null, changedAt: expect.any(Number) },
    ])
  })

  test('--expired lists only the expired entries and removes nothing', async () => {
    await repository.set('live', 1)
    await setExpired('old', 2)
    const json = await run('ls', dir, '--expired', '--json')
    expect(json.code).toBe(0)
    expect(ndjson(json.stdout)).toEqual([
      { key: 'old', size: 1, expiresAt: expect.any(Number), changedAt: expect.any(Number) },
    ])
    expect(ndjson(json.stdout)[0].expiresAt).toBeLessThan(Date.now())
    expect(lines((await run('ls', dir, '--expired')).stdout)).toHaveLength(1)
    expect(fs.existsSync(repository.path('old'))).toBe(true)
  })

  test('lists a directory of 5,000 files, each key once', async () => {
    for (let i = 0; i < 5000; i++) fs.writeFileSync(path.join(dir, `k${i}.json`), `{"i":${i}}`)
    const result = await run('ls', dir, '--json')
    expect(result).toMatchObject({ code: 0, stderr: '' })
    const keys = ndjson(result.stdout).map((entry) => entry.key)
    expect(keys).toHaveLength(5000)
    expect(new Set(keys)).toEqual(new Set(Array.from({ length: 5000 }, (_, i) => `k${i}`)))
  })

  test('a reader that stops early (| head) ends it quietly', async () => {
    for (let i = 0; i < 5000; i++) fs.writeFileSync(path.join(dir, `k${i}.json`), '1')
    const script = `set -o pipefail; "${process.execPath}" "${cli}" ls "${dir}" | head -n 1`
    const result = await new Promise<Result>((resolve) => {
      execFile('bash', ['-c', script], (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr })
      })
    })
    expect(result).toMatchObject({ code: 0, stderr: '' })
    expect(lines(result.stdout)).toHaveLength(1)
  })
})

describe('get', () => {
  test('prints the value as indented JSON', async () => {
    await repository.set('a', { user: { id: 42 }, roles: ['admin'] })
    const result = await run('get', dir, 'a')
    expect(result).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ user: { id: 42 }, roles: ['admin'] }, null, 2)}\n`,
      stderr: '',
    })
  })

  test('a missing or expired key exits with 1', async () => {
    await setExpired('old', 1)
    expectError(await run('get', dir, 'nobody'), 1, /no entry for key "nobody"/)
    expectError(await run('get', dir, 'old'), 1, /no entry for key "old"/)
  })

  test('keys that need encoding or start with a dash are reached', async () => {
    await repository.set('../etc/passwd', 'safe')
    await repository.set('-dash', 'dash')
    expect((await run('get', dir, '../etc/passwd')).stdout).toBe('"safe"\n')
    expect((await run('get', dir, '--', '-dash')).stdout).toBe('"dash"\n')
  })
})

describe('rm', () => {
  test('removes the given keys and prints how many were removed', async () => {
    await repository.set('a', 1)
    await repository.set('b', 2)
    await repository.set('c', 3)
    expect(await run('rm', dir, 'a', 'b', 'missing')).toEqual({
      code: 0,
      stdout: 'removed 2 entries\n',
      stderr: '',
    })
    expect(await repository.has('a')).toBe(false)
    expect(await repository.has('b')).toBe(false)
    expect(await repository.get('c')).toBe(3)
  })

  test('--where removes every entry whose value at the path equals the value', async () => {
    await repository.set('n', { user: { id: 42 } })
    await repository.set('s', { user: { id: '42' } })
    await repository.set('other', { user: { id: 43 } })
    await repository.set('flat', { id: 42 })
    await repository.set('scalar', 42)
    await repository.set('roles', { user: { id: 1, roles: ['admin', 'x'] } })
    expect(
      (await run('rm', dir, '--where', 'user.id=42', '--dry-run')).stdout.split('\n').sort(),
    ).toEqual(['', 'n', 's'])
    expect(await repository.has('n')).toBe(true)

    expect((await run('rm', dir, '--where', 'user.id=42')).stdout).toBe('removed 2 entries\n')
    expect((await run('rm', dir, '--where', 'user.roles=["admin","x"]')).stdout).toBe(
      'removed 1 entry\n',
    )
    expect((await run('rm', dir, '--where', 'id=42', '--where', 'id=0')).stdout).toBe(
      'removed 0 entries\n',
    )
    const left = []
    for await (const key of repository.keys()) left.push(key)
    expect(left.sort()).toEqual(['flat', 'other', 'scalar'])
  })
})

describe('prune', () => {
  test('removes expired entries and stale temp files, and prints the count of each', async () => {
    await repository.set('live', 1)
    await setExpired('old1', 1)
    await setExpired('old2', 2)
    // A temp file whose writer is gone (no such pid), older than the one-second grace.
    const stale = path.join(dir, '.x.json.99999999.abc1.tmp')
    fs.writeFileSync(stale, '{')
    // Files moved aside 8 days ago, and just now.
    fs.writeFileSync(path.join(dir, `x.json.corrupt-${Date.now() - 8 * 86_400_000}`), '{')
    fs.writeFileSync(path.join(dir, `y.json.corrupt-${Date.now()}`), '{')
    await waitUntilOlderThan([stale], 1000)
    expect(await run('prune', dir)).toEqual({
      code: 0,
      stdout: 'pruned 2 expired entries, 1 stale temp file, 1 quarantined file\n',
      stderr: '',
    })
    expect(fs.readdirSync(dir).sort()).toEqual([
      'live.json',
      expect.stringMatching(/^y\.json\.corrupt-/),
    ])
    await setExpired('old3', 3)
    expect(ndjson((await run('prune', dir, '--json')).stdout)).toEqual([
      { expired: 1, tempFiles: 0, quarantined: 0 },
    ])
  })
})

describe('read-only inspection', () => {
  /**
   * A directory as servers leave it: live, expired, corrupt, a directory, temp, foreign and
   * legacy files.
   */
  async function fillDirectory(): Promise<void> {
    await repository.set('a', { user: { id: 42 } }, { expiresAt: Date.now() + 3_600_000 })
    await repository.set('b', { user: { id: 7 } })
    for (let i = 0; i < 20; i++) await setExpired(`old${i}`, { user: { id: 42 } })
    fs.writeFileSync(path.join(dir, 'corrupt.json'), '{"user":')
    fs.writeFileSync(path.join(dir, 'empty.json'), '')
    fs.mkdirSync(path.join(dir, 'folder.json'))
    fs.symlinkSync('/etc/passwd', path.join(dir, 'link.json'))
    fs.writeFileSync(path.join(dir, '.a.json.99999999.ab.tmp'), '{')
    fs.writeFileSync(path.join(dir, 'x.json.corrupt-1700000000000'), '{')
    fs.writeFileSync(path.join(dir, 'README.txt'), 'foreign')
    // A session file of @itrocks/fastify-file-session-store 0.3: only migrate or --legacy convert it.
    fs.writeFileSync(
      path.join(dir, 'Kx3vQ9_legacy'),
      '{"cookie":{"expires":null},"user":{"id":42}}',
    )
    // Old enough to be stale: a command that pruned on the side would remove it.
    await waitUntilOlderThan([path.join(dir, '.a.json.99999999.ab.tmp')], 1000)
  }

  test('stats, ls, get, export and every --dry-run change no file', async () => {
    await fillDirectory()
    const before = directorySnapshot(dir)
    const commands = [
      ['stats', dir],
      ['stats', dir, '--json'],
      ['ls', dir],
      ['ls', dir, '--expired', '--json'],
      ['get', dir, 'a'],
      ['get', dir, 'old0'],
      ['get', dir, 'corrupt'],
      ['get', dir, 'empty'],
      ['get', dir, 'folder'],
      ['get', dir, 'link'],
      ['rm', dir, '--where', 'user.id=42', '--dry-run'],
      ['rm', dir, 'a', 'old1', 'corrupt', 'folder', '--dry-run'],
      ['export', dir],
      ['get', dir, 'Kx3vQ9_legacy'],
      ['ls', dir, '--legacy'],
      ['rm', dir, 'Kx3vQ9_legacy', '--dry-run', '--legacy'],
    ]
    for (const [command, ...args] of commands) {
      const result = await run(command as string, ...args)
      expect(result.stderr).not.toMatch(/moved to/)
      expect([command, ...args, directorySnapshot(dir)]).toEqual([command, ...args, before])
    }
    // What they found: the corrupt file is reported as left in place, the expired is a miss.
    const corrupt = await run('get', dir, 'corrupt')
    expect(corrupt.code).toBe(1)
    expect(corrupt.stderr).toMatch(
      /^json-file-repository: warning: the file of key "corrupt".*invalid JSON; it was left in place \(read-only\)$/m,
    )
    expect((await run('rm', dir, '--where', 'user.id=42', '--dry-run')).stdout).toBe('a\n')
    expect((await run('rm', dir, 'a', 'old1', 'nobody', '--dry-run')).stdout).toBe('a\n')
  }, 60_000)

  test('on an encrypted directory, given the keys, inspection changes no file either', async () => {
    const key = 'a test key (not a secret) of 32 characters or more'
    const keyFile = path.join(tmp, 'keys')
    fs.writeFileSync(keyFile, key)
    const encrypted = new JsonFileRepository(dir, {
      encryption: { keys: [key], transition: 'encrypting' },
    })
    await encrypted.set('a', { user: { id: 42 } })
    await encrypted.set('old', { user: { id: 42 } })
    const mtime = expiryToMtime(Date.now() - 60_000)
    fs.utimesSync(encrypted.path('old'), mtime, mtime)
    await encrypted.set('altered', { user: { id: 42 } })
    const altered = encrypted.path('altered')
    const text = fs.readFileSync(altered, 'utf8')
    fs.writeFileSync(altered, text.slice(0, -2) + (text.at(-2) === 'A' ? 'B' : 'A') + text.at(-1))
    await encrypted.close()
    // A plain entry beside them, as during a transition: given keys, the command line reads
    // encrypted entries only, as servers do (whoever can write the directory could plant it).
    await repository.set('plain', { user: { id: 42 } })
    const before = directorySnapshot(dir)
    const commands = [
      ['stats', dir],
      ['ls', dir, '--json'],
      ['get', dir, 'a'],
      ['get', dir, 'old'],
      ['get', dir, 'altered'],
      ['export', dir],
      ['rm', dir, '--where', 'user.id=42', '--dry-run'],
    ]
    for (const [command, ...args] of commands) {
      await run(command as string, ...args, '--key-file', keyFile)
      expect([command, ...args, directorySnapshot(dir)]).toEqual([command, ...args, before])
    }
    const dryRun = await run('rm', dir, '--where', 'user.id=42', '--dry-run', '--key-file', keyFile)
    expect(lines(dryRun.stdout).sort()).toEqual(['a'])
    const exported = ndjson((await run('export', dir, '--key-file', keyFile)).stdout)
    expect(exported.map((line) => line.value)).toEqual([{ user: { id: 42 } }])
    // Without the keys, nothing is read at all.
    expectError(await run('ls', dir), 1, /holds encrypted entries/)
  }, 60_000)

  test('rm --where removes only the matches, not the expired or corrupt files it walks past', async () => {
    await fillDirectory()
    const before = directorySnapshot(dir)
    const result = await run('rm', dir, '--where', 'user.id=42')
    expect(result).toMatchObject({ code: 0, stdout: 'removed 1 entry\n' })
    const after = directorySnapshot(dir)
    const { 'a.json': removed, '.': _dir, ...rest } = before
    expect(removed).toBeDefined()
    const { '.': _after, ...left } = after
    expect(left).toEqual(rest)
  }, 60_000)
})

describe('export and import', () => {
  test('export writes every live entry as NDJSON and import stores them back with their expiries', async () => {
    const expiresAt = Date.now() + 3_600_000
    await repository.set('a', { user: { id: 42 }, n: 1.5 }, { expiresAt })
    await repository.set('forever', ['x'])
    await repository.set('new\nline', 'odd key')
    await setExpired('old', 1)
    fs.writeFileSync(path.join(dir, 'corrupt.json'), '{')
    const exported = await run('export', dir)
    expect(exported.code).toBe(0)
    const lines = ndjson(exported.stdout).sort((x, y) => x.key.localeCompare(y.key))
    expect(lines).toEqual([
      { key: 'a', value: { user: { id: 42 }, n: 1.5 }, expiresAt },
      { key: 'forever', value: ['x'], expiresAt: null },
      { key: 'new\nline', value: 'odd key', expiresAt: null },
    ])

    const file = path.join(tmp, 'export.ndjson')
    // An expired line and a blank one are skipped.
    fs.writeFileSync(file, `${exported.stdout}\n{"key":"gone","value":1,"expiresAt":1}\n`)
    const target = path.join(tmp, 'target')
    fs.mkdirSync(target, { mode: 0o700 })
    const imported = await run('import', target, file)
    expect(imported).toEqual({
      code: 0,
      stdout: 'imported 3 entries, skipped 1 expired entry\n',
      stderr: '',
    })
    const copy = new JsonFileRepository(target)
    expect(await copy.getEntry('a')).toMatchObject({
      value: { user: { id: 42 }, n: 1.5 },
      expiresAt,
    })
    expect(await copy.getEntry('forever')).toMatchObject({ value: ['x'], expiresAt: undefined })
    expect(await copy.get('new\nline')).toBe('odd key')
    expect(await copy.has('gone')).toBe(false)
    await copy.close()

    // Again, from standard input: the same entries with the same expiries.
    const again = await new Promise<Result>((resolve) => {
      const child = execFile(process.execPath, [cli, 'import', target], (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      )
      child.stdin?.end(fs.readFileSync(file))
    })
    expect(again).toMatchObject({
      code: 0,
      stdout: 'imported 3 entries, skipped 1 expired entry\n',
    })
    const exportedAgain = ndjson((await run('export', target)).stdout)
    expect(exportedAgain.sort((x, y) => x.key.localeCompare(y.key))).toEqual(lines)
    expect(fs.readdirSync(target).sort()).toEqual(['a.json', 'forever.json', '~bmV3CmxpbmU.json'])
  })

  test('import stops at the first line that is not an entry, and says which', async () => {
    const file = path.join(tmp, 'bad.ndjson')
    const good = '{"key":"a","value":1,"expiresAt":null}'
    for (const [bad, message] of [
      ['{"key":', /line 2: not JSON$/m],
      ['{"key":"b","expiresAt":null}', /line 2: not \{"key","value","expiresAt"\}$/m],
      ['{"key":"b","value":1,"expiresAt":"soon"}', /line 2: not \{"key","value","expiresAt"\}/],
      ['[1]', /line 2: not \{/],
      ['{"key":"","value":1,"expiresAt":null}', /line 2: invalid key "": must not be empty$/m],
    ] as const) {
      fs.writeFileSync(file, `${good}\n${bad}\n{"key":"c","value":1,"expiresAt":null}\n`)
      expectError(await run('import', dir, file), 1, message)
      expect(await repository.get('a')).toBe(1)
      expect(await repository.has('c')).toBe(false)
    }
    expectError(await run('import', dir, path.join(tmp, 'missing')), 1, /no such file: /)
    expectError(await run('import', dir, tmp), 1, / is a directory, not a file$/m)
  })

  test('import refuses a line that is not UTF-8 (a key is never stored with U+FFFD in it), and takes CRLF', async () => {
    const file = path.join(tmp, 'latin1.ndjson')
    const good = Buffer.from('{"key":"a","value":"\u20ac","expiresAt":null}\r\n')
    fs.writeFileSync(
      file,
      Buffer.concat([good, Buffer.from('{"key":"b\xff","value":1,"expiresAt":null}\n', 'latin1')]),
    )
    expectError(await run('import', dir, file), 1, /line 2: not valid UTF-8$/m)
    expect(await repository.get('a')).toBe('€')
    expect(
      fs.readdirSync(dir).filter((name) => name.includes('\ufffd') || name.startsWith('~')),
    ).toEqual([])
  })
})

describe('list()', () => {
  test('yields what stat tells of each entry, expired ones apart, and removes nothing', async () => {
    const expiresAt = Date.now() + 60_000
    await repository.set('live', { a: 1 }, { expiresAt })
    await repository.set('forever', 1)
    await setExpired('old', 'xy')
    fs.writeFileSync(path.join(dir, 'x.json.corrupt-1'), '{')
    fs.mkdirSync(path.join(dir, 'folder.json'))
    const list = async (options?: { expired?: boolean }) => {
      const infos = []
      for await (const info of repository.list(options)) infos.push(info)
      return infos.sort((a, b) => a.key.localeCompare(b.key))
    }
    const changedAt = expect.any(Number)
    const live = [
      { key: 'forever', size: 1, expiresAt: undefined, changedAt },
      { key: 'live', size: 7, expiresAt, changedAt },
    ]
    const old = { key: 'old', size: 4, expiresAt: expect.any(Number), changedAt }
    expect(await list({ expired: false })).toEqual(live)
    expect(await list({ expired: true })).toEqual([old])
    expect(await list()).toEqual([...live, old])
    expect(fs.existsSync(repository.path('old'))).toBe(true)
  })
})

describe('while a server writes to the same directory', () => {
  test('rm and prune remove only their targets, and the server sees the revoke', async () => {
    await repository.set('victim', { user: { id: 42 } })
    await repository.set('victim2', { user: { id: 42 } })
    await repository.set('keep', { user: { id: 1 } })
    await setExpired('old', { user: { id: 2 } })
    const script = path.join(tmp, 'server.js')
    fs.writeFileSync(
      script,
      `const { JsonFileRepository } = require(${JSON.stringify(dist)})
const sessions = new JsonFileRepository(${JSON.stringify(dir)})
const written = {}
let stop = false
let sets = 0
process.on('message', async (message) => {
  if (message === 'stop') stop = true
  if (message === 'check') process.send({ victim: (await sessions.get('victim')) ?? null })
  if (message === 'progress') process.send({ sets })
})
;(async () => {
  // Caches the victim, as a server that has served that session.
  if (!(await sessions.get('victim'))) throw new Error('no victim')
  process.send('ready')
  for (let n = 0; !stop; n++) {
    const key = 'w-' + (n % 40)
    await sessions.set(key, { user: { id: 7 }, n }, { expiresAt: Date.now() + 60000 })
    written[key] = n
    sets++
  }
  process.send({ written })
  process.disconnect()
})()
`,
    )
    const server = fork(script, [], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const exited = once(server, 'exit')
    const next = async () => (await once(server, 'message'))[0]
    /** Waits until the server has stored more than `than` values since it started. */
    const writesMoreThan = async (than: number) => {
      const deadline = performance.now() + 30_000
      for (;;) {
        server.send('progress')
        const { sets } = (await next()) as { sets: number }
        if (sets > than) return sets
        if (performance.now() > deadline) throw new Error(`the server is stuck at ${sets} writes`)
        await sleep(10)
      }
    }
    expect(await next()).toBe('ready')
    // The commands below run while the server is writing.
    await writesMoreThan(0)

    expect((await run('rm', dir, 'victim')).stdout).toBe('removed 1 entry\n')
    server.send('check')
    expect(await next()).toEqual({ victim: null })
    const [where, pruned, listed] = await Promise.all([
      run('rm', dir, '--where', 'user.id=42'),
      run('prune', dir),
      run('ls', dir, '--json'),
    ])
    expect(where).toEqual({ code: 0, stdout: 'removed 1 entry\n', stderr: '' })
    expect(pruned).toMatchObject({ code: 0, stderr: '' })
    expect(listed).toMatchObject({ code: 0, stderr: '' })
    // And the server goes on writing after them.
    await writesMoreThan(await writesMoreThan(0))

    server.send('stop')
    const { written } = (await next()) as { written: Record<string, number> }
    expect(await exited).toEqual([0, null])
    expect(Object.keys(written).length).toBeGreaterThan(0)

    const fresh = new JsonFileRepository<{ n?: number }>(dir, { cache: false })
    for (const [key, n] of Object.entries(written)) expect((await fresh.get(key))?.n).toBe(n)
    expect(await fresh.get('keep')).toEqual({ user: { id: 1 } })
    for (const key of ['victim', 'victim2', 'old']) expect(await fresh.has(key)).toBe(false)
    expect(fs.readdirSync(dir).filter((name) => !name.endsWith('.json'))).toEqual([])
    await fresh.close()
  })
})

/**
 * The progress of long commands, under a pseudo-terminal (`script` from util-linux gives the
 * command one): a line on stderr redrawn in place, then erased before the result. Nothing
 * extra when stderr is not a terminal, or with --json.
 */
import { execFile, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { JsonFileRepository } from '../src'
import { makeTempDirectory, removeDirectory } from './helpers'

jest.setTimeout(120_000)

// The built command line, as cli.test.ts runs it.
const cli = path.resolve(__dirname, '../dist/cli.js')
const KEY = 'a secret of at least thirty-two characters'
const ENTRIES = 300
/** What redraws the line: back to its start, and erase it. */
const ERASE = '\r\x1b[K'
const SKIP =
  spawnSync('script', ['--version']).status === 0
    ? undefined
    : '`script` (util-linux, Debian: bsdutils) is missing'
if (SKIP) console.log(`Skipped the progress tests under a terminal: ${SKIP}`)

let tmp: string
let dir: string
beforeEach(async () => {
  tmp = makeTempDirectory('progress')
  dir = path.join(tmp, 'sessions')
  const repository = new JsonFileRepository(dir, { fsync: false })
  for (let i = 0; i < ENTRIES; i++) await repository.set(`k${i}`, { user: { id: `${i % 3}` } })
  await repository.close()
})
afterEach(() => removeDirectory(tmp))

/** `value` as one shell word. */
const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`

/**
 * Runs the built command line under a pseudo-terminal (stdin, stdout and stderr on it; `shell`
 * may redirect them): what the terminal received, and the exit code.
 */
function onTerminal(shell: string): Promise<{ code: number; output: string }> {
  const command = shell.replaceAll('CLI', `${quote(process.execPath)} ${quote(cli)}`)
  return new Promise((resolve) => {
    execFile(
      'script',
      ['-qec', command, '/dev/null'],
      // Given keys, the other commands read encrypted entries only: these are plain.
      {
        env: { ...process.env, ...(/crypt /.test(shell) ? { JSON_FILE_REPOSITORY_KEY: KEY } : {}) },
      },
      (error, stdout) => resolve({ code: error ? Number(error.code) : 0, output: stdout }),
    )
  })
}

/** The progress line's last draw, the erasure, then the result. */
function finalLine(command: string, total: boolean): RegExp {
  const counts = total
    ? `${ENTRIES} entries of ${ENTRIES}, [\\d,]+/s, ETA 0:00`
    : `${ENTRIES} entries, [\\d,]+/s`
  return new RegExp(`\\r\\x1b\\[K${command}: ${counts}\\r\\x1b\\[K`)
}

test('prune, encrypt, decrypt and rm --where show their progress, then their result', async () => {
  if (SKIP) return
  const prune = await onTerminal(`CLI prune ${quote(dir)}`)
  expect(prune.code).toBe(0)
  // The first draw, at once, then the last, with the total and an ETA, erased before the result.
  expect(prune.output.startsWith(`${ERASE}prune: 0 entries, 0/s`)).toBe(true)
  expect(prune.output).toMatch(finalLine('prune', true))
  expect(prune.output.split(ERASE).at(-1)).toBe(
    'pruned 0 expired entries, 0 stale temp files, 0 quarantined files\r\n',
  )
  const encrypt = await onTerminal(`CLI encrypt ${quote(dir)}`)
  expect(encrypt.output).toMatch(finalLine('encrypt', true))
  expect(encrypt.output.split(ERASE).at(-1)).toBe(`encrypted ${ENTRIES} entries\r\n`)
  const decrypt = await onTerminal(`CLI decrypt ${quote(dir)}`)
  expect(decrypt.output.split(ERASE).at(-1)).toBe(`decrypted ${ENTRIES} entries\r\n`)
  const rm = await onTerminal(`CLI rm ${quote(dir)} --where user.id=0`)
  expect(rm.output).toMatch(finalLine('rm', true))
  expect(rm.output.split(ERASE).at(-1)).toBe(`removed ${ENTRIES / 3} entries\r\n`)
})

test('export to a file and import from it show their progress; import has no total', async () => {
  if (SKIP) return
  const file = path.join(tmp, 'export.ndjson')
  const exported = await onTerminal(`CLI export ${quote(dir)} > ${quote(file)}`)
  expect(exported.output).toMatch(finalLine('export', true))
  expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(ENTRIES)
  const target = path.join(tmp, 'target')
  fs.mkdirSync(target, { mode: 0o700 })
  const imported = await onTerminal(`CLI import ${quote(target)} < ${quote(file)}`)
  expect(imported.output).toMatch(finalLine('import', false))
  expect(imported.output.split(ERASE).at(-1)).toBe(
    `imported ${ENTRIES} entries, skipped 0 expired entries\r\n`,
  )
})

test('migrate shows its progress', async () => {
  if (SKIP) return
  const migrate = await onTerminal(`CLI migrate ${quote(dir)}`)
  expect(migrate.output).toMatch(finalLine('migrate', true))
  expect(migrate.output.split(ERASE).at(-1)).toBe(
    'migrated 0, superseded 0, expired 0, moved aside 0\r\n',
  )
})

test('nothing extra with --json, for export to the terminal, or when stderr is not a terminal', async () => {
  if (SKIP) return
  expect((await onTerminal(`CLI prune ${quote(dir)} --json`)).output).toBe(
    '{"expired":0,"tempFiles":0,"quarantined":0}\r\n',
  )
  // Its lines go to the terminal: a progress line would be written into them.
  const exported = await onTerminal(`CLI export ${quote(dir)}`)
  expect(exported.output).not.toContain(ERASE)
  expect(exported.output.trim().split('\r\n')).toHaveLength(ENTRIES)
  const piped = await onTerminal(`CLI prune ${quote(dir)} 2>&1 | cat`)
  expect(piped.output).toBe('pruned 0 expired entries, 0 stale temp files, 0 quarantined files\r\n')
})

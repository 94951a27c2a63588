/**
 * Turning encryption on and off with the command line while a server (a real child process)
 * keeps writing, and the command line with and without the keys. Runs the built package.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { runScript, type ScriptResult } from '@json-file-repository/test-helpers'
import { type EncryptionOptions, JsonFileRepository } from 'json-file-repository'
import {
  builtPackage,
  fixturesDirectory,
  listNames,
  makeTempDirectory,
  removeDirectory,
} from './helpers'

const KEY = randomBytes(32).toString('base64')
const WRITTEN_KEYS = 10
const STILL_KEYS = 100

let directory: string
let cli: string

beforeAll(() => {
  cli = path.join(builtPackage(), 'cli.js')
})
beforeEach(() => {
  directory = makeTempDirectory('migration')
})
afterEach(() => removeDirectory(directory))

/** Runs the built command line with `env` added; never rejects. */
function run(env: Record<string, string>, ...args: string[]): Promise<ScriptResult> {
  return runScript(cli, args, env)
}

/** A child process writing w0..w9 over and over with `encryption`, once it wrote each once. */
async function startWriter(
  encryption: EncryptionOptions | null,
): Promise<ChildProcessWithoutNullStreams> {
  const writer = spawn(process.execPath, [
    path.join(fixturesDirectory, 'writer.js'),
    builtPackage(),
    directory,
    JSON.stringify(encryption),
    String(WRITTEN_KEYS),
  ])
  writer.stdout.setEncoding('utf8')
  const [line] = await once(writer.stderr, 'data')
  expect(String(line)).toBe('ready\n')
  return writer
}

/** Stops the writer: the last value it wrote under each key. */
async function stopWriter(
  writer: ChildProcessWithoutNullStreams,
): Promise<Record<string, unknown>> {
  let output = ''
  writer.stdout.on('data', (chunk: string) => {
    output += chunk
  })
  writer.stdin.end()
  const [code] = await once(writer, 'exit')
  expect(code).toBe(0)
  return JSON.parse(output)
}

/** What every key should hold: the writer's keys its last values, the others untouched. */
async function fill(encryption: EncryptionOptions | undefined): Promise<number> {
  const repository = new JsonFileRepository(directory, { encryption, fsync: false })
  const expiresAt = Date.now() + 3_600_000
  for (let i = 0; i < STILL_KEYS; i++) await repository.set(`s${i}`, { i }, { expiresAt })
  for (let i = 0; i < WRITTEN_KEYS; i++) await repository.set(`w${i}`, { old: true })
  await repository.close()
  return expiresAt
}

async function expectEverything(
  encryption: EncryptionOptions | undefined,
  written: Record<string, unknown>,
  expiresAt: number,
): Promise<void> {
  const repository = new JsonFileRepository(directory, { encryption, cache: false })
  for (let i = 0; i < STILL_KEYS; i++) {
    await expect(repository.getEntry(`s${i}`)).resolves.toMatchObject({ value: { i }, expiresAt })
  }
  for (let i = 0; i < WRITTEN_KEYS; i++) {
    await expect(repository.get(`w${i}`)).resolves.toEqual(written[`w${i}`])
  }
  await repository.close()
}

test('encrypt moves a plain directory to encrypted files while a server writes, losing nothing; a second run moves nothing', async () => {
  const expiresAt = await fill(undefined)
  const writer = await startWriter({ keys: [KEY], transition: 'encrypting' })
  const encrypted = await run({ JSON_FILE_REPOSITORY_KEY: KEY }, 'encrypt', directory)
  const written = await stopWriter(writer)
  // The writer moved its own keys on their first write; the command line the others.
  expect(encrypted).toEqual({ code: 0, stdout: `encrypted ${STILL_KEYS} entries\n`, stderr: '' })
  await expect(run({ JSON_FILE_REPOSITORY_KEY: KEY }, 'encrypt', directory)).resolves.toEqual({
    code: 0,
    stdout: 'encrypted 0 entries\n',
    stderr: '',
  })
  const names = listNames(directory)
  expect(names).toHaveLength(STILL_KEYS + WRITTEN_KEYS)
  for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{43}\.enc$/)
  await expectEverything({ keys: [KEY] }, written, expiresAt)
}, 120_000)

test('decrypt moves an encrypted directory back to plain JSON files while a server writes, losing nothing', async () => {
  const expiresAt = await fill({ keys: [KEY] })
  const writer = await startWriter({ keys: [KEY], transition: 'decrypting' })
  const keyFile = path.join(directory, '..', `${path.basename(directory)}.key`)
  fs.writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 })
  const decrypted = await run({}, 'decrypt', directory, '--key-file', keyFile)
  const written = await stopWriter(writer)
  fs.unlinkSync(keyFile)
  expect(decrypted).toEqual({ code: 0, stdout: `decrypted ${STILL_KEYS} entries\n`, stderr: '' })
  await expect(run({}, 'decrypt', directory, '--key-file', keyFile)).resolves.toMatchObject({
    code: 1,
  })
  const names = listNames(directory)
  expect(names).toHaveLength(STILL_KEYS + WRITTEN_KEYS)
  for (const name of names) expect(name).toMatch(/^[sw]\d+\.json$/)
  await expectEverything(undefined, written, expiresAt)
}, 120_000)

describe('the command line on an encrypted directory', () => {
  beforeEach(async () => {
    const repository = new JsonFileRepository(directory, { encryption: { keys: [KEY] } })
    await repository.set('user-1', { name: 'Ada' })
    await repository.set('user-2', { name: 'Grace' }, { expiresAt: Date.now() + 60_000 })
    await repository.close()
  })

  test.each([['ls'], ['stats'], ['get', 'user-1'], ['rm', 'user-1'], ['encrypt'], ['decrypt']])(
    'without keys, %s refuses with exit code 1 and says how to give them',
    async (command, ...args) => {
      const result = await run({ JSON_FILE_REPOSITORY_KEY: '' }, command, directory, ...args)
      expect(result).toMatchObject({ code: 1, stdout: '' })
      expect(result.stderr).toMatch(/JSON_FILE_REPOSITORY_KEY.*--key-file/)
      expect(listNames(directory)).toHaveLength(2)
    },
  )

  test('with the key, ls, get and rm work on the keys inside the files', async () => {
    const env = { JSON_FILE_REPOSITORY_KEY: KEY }
    const listed = await run(env, 'ls', directory, '--json')
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).key)
        .sort(),
    ).toEqual(['user-1', 'user-2'])
    await expect(run(env, 'get', directory, 'user-2')).resolves.toMatchObject({
      code: 0,
      stdout: `${JSON.stringify({ name: 'Grace' }, null, 2)}\n`,
    })
    await expect(run(env, 'rm', directory, '--where', 'name=Ada')).resolves.toMatchObject({
      stdout: 'removed 1 entry\n',
    })
    expect(listNames(directory)).toHaveLength(1)
  })

  test('prune needs no key: it decides from stat alone', async () => {
    await expect(run({ JSON_FILE_REPOSITORY_KEY: '' }, 'prune', directory)).resolves.toEqual({
      code: 0,
      stdout: 'pruned 0 expired entries, 0 stale temp files, 0 quarantined files\n',
      stderr: '',
    })
  })

  test('a key is never taken as an argument, which ps would show', async () => {
    const result = await run({}, 'ls', directory, '--key', KEY)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/unknown option --key /)
  })

  test('a key file read by the app as it is (its newline kept) gives the key the command line reads', async () => {
    const keyFile = path.join(directory, '..', `${path.basename(directory)}.key`)
    const key = randomBytes(32).toString('base64')
    fs.writeFileSync(keyFile, `${key}\n`)
    try {
      const text = fs.readFileSync(keyFile, 'utf8')
      const app = new JsonFileRepository(directory, { encryption: { keys: [text, KEY] } })
      await app.set('user-3', { name: 'Barbara' })
      await app.close()
      // The same key, however it is spelled around.
      const spelled = new JsonFileRepository(directory, { encryption: { keys: [` ${key}\t`] } })
      await expect(spelled.get('user-3')).resolves.toEqual({ name: 'Barbara' })
      await spelled.close()
      const got = await run({}, 'get', directory, 'user-3', '--key-file', keyFile)
      expect(got).toMatchObject({ code: 0, stderr: '' })
      expect(JSON.parse(got.stdout)).toEqual({ name: 'Barbara' })
    } finally {
      fs.rmSync(keyFile)
    }
  })

  test('a secret holding a comma is one key, and a list of keys in the variable is refused', async () => {
    const secret = 'correct horse, battery staple, and 32+ characters'
    const app = new JsonFileRepository(directory, { encryption: { keys: [secret] } })
    await app.set('user-3', { name: 'Barbara' })
    await app.close()
    const got = await run({ JSON_FILE_REPOSITORY_KEY: secret }, 'get', directory, 'user-3')
    expect(got).toMatchObject({ code: 0, stderr: '' })
    const other = randomBytes(32).toString('base64')
    const listed = await run({ JSON_FILE_REPOSITORY_KEY: `${other},${KEY}` }, 'ls', directory)
    expect(listed).toMatchObject({ code: 1, stdout: '' })
    expect(listed.stderr).toMatch(
      /JSON_FILE_REPOSITORY_KEY holds one key, not a comma-separated list.*--key-file/,
    )
    expect(listed.stderr).not.toContain(KEY)
  })

  test('several --key-file options give several keys, the first one current', async () => {
    const next = randomBytes(32).toString('hex')
    const files = [
      path.join(directory, '..', 'next.key'),
      path.join(directory, '..', 'current.key'),
    ]
    fs.writeFileSync(files[0] as string, `${next}\n`)
    fs.writeFileSync(files[1] as string, `\n${KEY}\n\n`)
    try {
      const flags = files.flatMap((file) => ['--key-file', file])
      const listed = await run({}, 'ls', directory, '--json', ...flags)
      expect(listed).toMatchObject({ code: 0, stderr: '' })
      expect(listed.stdout.trim().split('\n')).toHaveLength(2)
      await expect(run({}, 'encrypt', directory, ...flags)).resolves.toMatchObject({
        stdout: 'encrypted 2 entries\n',
      })
      const moved = new JsonFileRepository(directory, { encryption: { keys: [next] } })
      await expect(moved.get('user-1')).resolves.toEqual({ name: 'Ada' })
      await moved.close()
    } finally {
      for (const file of files) fs.rmSync(file)
    }
  })

  test('files sealed by none of the keys given are counted in a warning by ls, stats and encrypt', async () => {
    const other = randomBytes(32).toString('base64')
    const app = new JsonFileRepository(directory, { encryption: { keys: [other] } })
    await app.set('user-3', { name: 'Barbara' })
    await app.close()
    const warning =
      'json-file-repository: warning: 2 encrypted files are sealed by none of the keys given, and skipped: give their key too (--key-file, one key a line)\n'
    for (const command of ['ls', 'stats', 'encrypt']) {
      const result = await run({ JSON_FILE_REPOSITORY_KEY: other }, command, directory)
      expect([command, result.code, result.stderr]).toEqual([command, 0, warning])
    }
    expect(listNames(directory)).toHaveLength(3)
  })

  test('a wrong key reads nothing and moves nothing aside', async () => {
    const other = randomBytes(32).toString('hex')
    const result = await run({ JSON_FILE_REPOSITORY_KEY: other }, 'get', directory, 'user-1')
    expect(result.code).toBe(1)
    expect(listNames(directory)).toHaveLength(2)
    await expect(
      run({ JSON_FILE_REPOSITORY_KEY: 'short' }, 'ls', directory),
    ).resolves.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/32-byte keys/),
    })
  })
})

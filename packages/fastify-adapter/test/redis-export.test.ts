/**
 * `export-redis` on what a FileStore directory can hold: encrypted sessions (with and without
 * their keys), the files of @itrocks/fastify-file-session-store 0.3, a session with no expiry.
 * Runs the built command line and reads the Redis protocol it writes (the move into a real
 * Redis is redis-move.test.ts).
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { runScript, type ScriptResult } from '@json-file-repository/test-helpers'
import { FileStore } from 'fastify-file-session-store'
import { temporaryDirectory } from './app'

const cli = path.join(__dirname, '../dist/cli.js')
const KEY = randomBytes(32).toString('base64')
const HOUR = 3_600_000
const ID = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345'

let directory: string
beforeEach(() => {
  directory = path.join(temporaryDirectory('redis-export'), 'sessions')
})
afterEach(() => fs.rmSync(path.dirname(directory), { recursive: true, force: true }))

/** The export with `env` added (and no key unless it gives one); never rejects. */
function run(env: Record<string, string>, ...args: string[]): Promise<ScriptResult> {
  return runScript(cli, ['export-redis', ...args], { JSON_FILE_REPOSITORY_KEY: '', ...env })
}

/** The commands of a RESP stream, each an array of its arguments. */
function commands(stream: string): string[][] {
  const parsed: string[][] = []
  const bytes = Buffer.from(stream)
  let at = 0
  const line = () => {
    const end = bytes.indexOf('\r\n', at)
    const text = bytes.subarray(at, end).toString()
    at = end + 2
    return text
  }
  while (at < bytes.length) {
    const count = Number(line().slice(1))
    const args: string[] = []
    for (let i = 0; i < count; i++) {
      const length = Number(line().slice(1))
      args.push(bytes.subarray(at, at + length).toString())
      at += length + 2
    }
    parsed.push(args)
  }
  return parsed
}

/** Saves sessions as FileStore does, with `options`. */
async function save(options: object, sessions: Record<string, object>): Promise<void> {
  const store = new FileStore({ directory, fsync: false, ...options })
  for (const [id, session] of Object.entries(sessions)) {
    await new Promise<void>((resolve, reject) =>
      store.set(id, session as never, (error) => (error ? reject(error) : resolve())),
    )
  }
  await store.close()
}

const session = (user: string) => ({
  cookie: { expires: new Date(Date.now() + HOUR).toISOString(), path: '/' },
  user,
})

describe('an encrypted directory', () => {
  beforeEach(() => save({ encryption: { keys: [KEY] } }, { [ID]: session('ada') }))

  test('without the key, it fails with exit code 1 before writing anything', async () => {
    const result = await run({}, directory)
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toMatch(/holds encrypted sessions: give the keys.*--key-file/)
  })

  test('with the key (JSON_FILE_REPOSITORY_KEY or --key-file), it exports the sessions', async () => {
    const keyFile = path.join(path.dirname(directory), 'key')
    fs.writeFileSync(keyFile, `${KEY}\n`)
    for (const [env, args] of [
      [{ JSON_FILE_REPOSITORY_KEY: KEY }, []],
      [{}, ['--key-file', keyFile]],
    ] as const) {
      const result = await run(env, directory, ...args)
      expect(result).toMatchObject({ code: 0, stderr: '' })
      const [command, ...more] = commands(result.stdout)
      expect(more).toEqual([])
      expect(command?.slice(0, 2)).toEqual(['SET', `sess:${ID}`])
      expect(JSON.parse(command?.[2] as string)).toMatchObject({ user: 'ada' })
    }
  })

  test('with a wrong key, it fails with exit code 1, counting what it could not read', async () => {
    const other = randomBytes(32).toString('hex')
    const result = await run({ JSON_FILE_REPOSITORY_KEY: other }, directory)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /1 encrypted session file is sealed by none of the keys given, and was not exported \(0 other sessions were\)/,
    )
  })
})

describe('the files of @itrocks/fastify-file-session-store 0.3', () => {
  test('are exported, as FileStore serves them; a newer file of the session wins', async () => {
    await save({}, { [`${ID}x`]: session('new') })
    // 0.3 wrote the whole session JSON in a file named after the id.
    fs.writeFileSync(path.join(directory, ID), JSON.stringify(session('legacy')), { mode: 0o600 })
    fs.writeFileSync(path.join(directory, `${ID}x`), JSON.stringify(session('older')))
    const expired = { cookie: { expires: new Date(Date.now() - HOUR).toISOString() } }
    fs.writeFileSync(path.join(directory, `${ID}y`), JSON.stringify(expired))
    const result = await run({}, directory)
    expect(result).toMatchObject({ code: 0, stderr: '' })
    const users = Object.fromEntries(
      commands(result.stdout).map(([, key, json]) => [key, JSON.parse(json as string).user]),
    )
    expect(users).toEqual({ [`sess:${ID}`]: 'legacy', [`sess:${ID}x`]: 'new' })
    // It changes no file.
    expect(fs.readdirSync(directory).sort()).toEqual([ID, `${ID}x`, `${ID}x.json`, `${ID}y`])
  })

  test('with keys, while any is left, it fails and says to convert them first', async () => {
    await save({ encryption: { keys: [KEY] } }, { [ID]: session('ada') })
    fs.writeFileSync(path.join(directory, `${ID}x`), JSON.stringify(session('legacy')))
    const result = await run({ JSON_FILE_REPOSITORY_KEY: KEY }, directory)
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toMatch(/holds 1 session files of .* 0\.3.*json-file-repository migrate/)
  })
})

describe('--ttl', () => {
  test('is in milliseconds, as everywhere else; a number of seconds is refused', async () => {
    await save({}, {})
    // A session file with no expiry on it, as another tool may write one.
    fs.writeFileSync(path.join(directory, `${ID}.json`), JSON.stringify({ cookie: {}, n: 1 }))
    const result = await run({}, directory, '--ttl', String(HOUR))
    expect(result).toMatchObject({ code: 0, stderr: '' })
    expect(commands(result.stdout)).toEqual([
      ['SET', `sess:${ID}`, JSON.stringify({ cookie: {}, n: 1 }), 'PX', String(HOUR), 'NX'],
    ])
    const seconds = await run({}, directory, '--ttl', '86400')
    expect(seconds).toMatchObject({ code: 2, stdout: '' })
    expect(seconds.stderr).toMatch(
      /--ttl is in milliseconds, not seconds: 86400 ms is under an hour \(for 86400 seconds, write --ttl 86400000\)/,
    )
  })
})

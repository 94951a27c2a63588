/**
 * Encrypted sessions through a real Fastify app with @fastify/session and @fastify/cookie: they
 * survive a restart with the same key, are unreadable without it, and a copy of the directory
 * shows neither the session ids nor what the sessions hold.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { FileStore } from 'fastify-file-session-store'
import { JsonFileRepository } from 'json-file-repository'
import { Browser, buildApp, fakeClock, temporaryDirectory } from './app'

const KEY = randomBytes(32).toString('base64')

let directory: string
let store: FileStore | undefined
let app: FastifyInstance | undefined
const warnings: string[] = []
const logger = { warn: (_: object, message?: string) => warnings.push(message ?? ''), error() {} }

/** Closes the app and its store, if they are open. */
async function stop(): Promise<void> {
  await app?.close()
  await store?.close()
  ;[app, store] = [undefined, undefined]
}

/** The app on the sessions of `directory`, encrypted with `keys`, after closing the last one. */
async function start(keys: string[]): Promise<FastifyInstance> {
  await stop()
  store = new FileStore({ directory, fsync: false, encryption: { keys }, logger })
  app = await buildApp(store)
  return app
}

beforeEach(() => {
  directory = temporaryDirectory('encrypted-sessions')
  warnings.length = 0
})
afterEach(async () => {
  await stop()
  fs.rmSync(directory, { recursive: true, force: true })
})

test('an encrypted session survives a restart with the same key, and its files reveal neither its id nor its data', async () => {
  const browser = new Browser(await start([KEY]))
  await browser.json('/login?userId=user-4711')
  await browser.json('/roles?role=auditor')
  const sessionId = decodeURIComponent(browser.cookie as string).split('.')[0] as string
  expect(sessionId.length).toBeGreaterThan(20)

  const names = fs.readdirSync(directory)
  expect(names).toEqual([expect.stringMatching(/^[A-Za-z0-9_-]{43}\.enc$/)])
  const bytes = fs.readFileSync(path.join(directory, names[0] as string), 'latin1')
  for (const secret of [sessionId, 'user-4711', 'auditor', 'roles']) {
    expect(`${names.join('\n')}\n${bytes}`).not.toContain(secret)
  }

  const restarted = new Browser(await start([KEY]))
  restarted.cookie = browser.cookie
  expect((await restarted.json('/me')).body).toEqual({
    user: { id: 'user-4711', roles: ['auditor'] },
    views: 0,
  })
})

test('after a restart with another key the session is a clean miss (401), the server keeps serving', async () => {
  const browser = new Browser(await start([KEY]))
  await browser.json('/login?userId=1')
  const stranger = new Browser(await start([randomBytes(32).toString('base64')]))
  stranger.cookie = browser.cookie
  expect((await stranger.json('/me')).status).toBe(401)
  expect((await stranger.json('/')).body).toEqual({ views: 1 })
})

test('a rotated key keeps sessions: new key in front, the old one behind', async () => {
  const browser = new Browser(await start([KEY]))
  await browser.json('/login?userId=9')
  const next = randomBytes(32).toString('base64')
  const rotated = new Browser(await start([next, KEY]))
  rotated.cookie = browser.cookie
  expect((await rotated.json('/me')).body).toMatchObject({ user: { id: '9' } })
  // A change writes the session under the new key: the old key can go.
  await rotated.json('/')
  const onlyNew = new Browser(await start([next]))
  onlyNew.cookie = browser.cookie
  expect((await onlyNew.json('/me')).body).toEqual({ user: { id: '9', roles: [] }, views: 1 })
})

test('a session whose file was altered is a logged miss, not a crash, and the file is moved aside', async () => {
  const browser = new Browser(await start([KEY]))
  await browser.json('/login?userId=1')
  const [name] = fs.readdirSync(directory)
  const file = path.join(directory, name as string)
  const bytes = fs.readFileSync(file)
  bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x01
  fs.writeFileSync(file, bytes)
  expect((await browser.json('/me')).status).toBe(401)
  expect(warnings).toEqual([expect.stringMatching(/not sealed for this name by a configured key/)])
  expect(fs.readdirSync(directory).filter((name) => name.includes('.corrupt-'))).toHaveLength(1)
  expect((await browser.json('/')).body).toEqual({ views: 1 })
})

describe('whoever can write the directory cannot forge, extend or revive a session', () => {
  /** Logs in as user 1, and returns the session id (an attacker knows their own). */
  async function login(browser: Browser): Promise<string> {
    await browser.json('/login?userId=1')
    return decodeURIComponent(browser.cookie as string).split('.')[0] as string
  }

  /** Removes the session's sealed file, then plants `name` with a session of `user: admin`. */
  function forge(name: string): void {
    for (const sealed of fs.readdirSync(directory)) fs.unlinkSync(path.join(directory, sealed))
    const expires = new Date(Date.now() + 3_600_000).toISOString()
    const session = { cookie: { originalMaxAge: 3_600_000, expires }, user: { id: 'admin' } }
    fs.writeFileSync(path.join(directory, name), JSON.stringify(session))
  }

  test.each([
    ['a 0.3 file named after the id', (id: string) => id],
    ['a plain file named after the id', (id: string) => `${id}.json`],
  ])('%s is not read (no transition), on a request nor by the prune timer', async (_, nameOf) => {
    const browser = new Browser(await start([KEY]))
    const id = await login(browser)
    forge(nameOf(id))
    expect((await browser.json('/me')).status).toBe(401)
    await store?.prune()
    // No sealed session holds the forgery: the planted file was left as it is.
    const sealed = new JsonFileRepository(directory, {
      encryption: { keys: [KEY] },
      readOnly: true,
    })
    for await (const [, session] of sealed)
      expect(session).not.toMatchObject({ user: { id: 'admin' } })
    expect(fs.existsSync(path.join(directory, nameOf(id)))).toBe(true)
  })

  test('while encrypting, a plain file planted after `since` is not read: the request is a miss', async () => {
    await stop()
    store = new FileStore({
      directory,
      fsync: false,
      encryption: { keys: [KEY], transition: 'encrypting', since: Date.now() - 60_000 },
      logger,
    })
    app = await buildApp(store)
    const browser = new Browser(app)
    forge(`${await login(browser)}.json`)
    expect((await browser.json('/me')).status).toBe(401)
  })

  test('a session whose file time was moved to "never" (touch) still expires when its sealed expiry passes', async () => {
    const browser = new Browser(await start([KEY]))
    await stop()
    store = new FileStore({ directory, fsync: false, encryption: { keys: [KEY] }, logger })
    app = await buildApp(store, { cookie: { secure: false, maxAge: 3_600_000 } })
    const session = new Browser(app)
    session.cookie = browser.cookie
    const clock = fakeClock()
    try {
      await login(session)
      const [name] = fs.readdirSync(directory)
      const now = Date.now() / 1000
      fs.utimesSync(path.join(directory, name as string), now, now)
      clock.advance(2 * 3_600_000)
      expect((await session.json('/me')).status).toBe(401)
    } finally {
      jest.useRealTimers()
    }
  })
})

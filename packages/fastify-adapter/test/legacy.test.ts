/**
 * Upgrading from @itrocks/fastify-file-session-store 0.3.0: the real package (installed as a dev
 * dependency) writes the sessions through a real Fastify app, then FileStore serves the same
 * directory and the same cookies.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { FileStore as LegacyFileStore } from '@itrocks/fastify-file-session-store'
import { waitFor } from '@json-file-repository/test-helpers'
import type { FastifyInstance, Session } from 'fastify'
import { FileStore } from 'fastify-file-session-store'
import { Browser, buildApp, call, gate, temporaryDirectory } from './app'

const root = path.resolve(__dirname, '../../..')
/** The core's command line, the `json-file-repository` bin of the adapter's dependency. */
const cli = path.join(
  path.dirname(require.resolve('json-file-repository/package.json')),
  'dist/cli.js',
)
const TTL = 86_400_000
const MAX_AGE = { cookie: { secure: false, maxAge: 3_600_000 } }

let directory: string
let store: FileStore | undefined
const apps: FastifyInstance[] = []
const warnings: string[] = []
const logger = {
  warn: (_: object, message?: string) => warnings.push(message ?? ''),
  error: () => {},
}

beforeAll(async () => {
  await promisify(execFile)('pnpm', ['--filter', 'json-file-repository', 'build'], { cwd: root })
}, 120_000)
beforeEach(() => {
  directory = temporaryDirectory('legacy')
  warnings.length = 0
})
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close()
  await store?.close()
  store = undefined
  fs.rmSync(directory, { recursive: true, force: true })
})

async function app(sessionStore: LegacyFileStore | FileStore, options = {}) {
  const started = await buildApp(sessionStore, options)
  apps.push(started)
  return started
}

/** Stops the apps of 0.3.0 and starts FileStore on the same directory. */
async function upgrade(): Promise<FileStore> {
  for (const started of apps.splice(0)) await started.close()
  store = new FileStore({ directory, logger, fsync: false, pruneInterval: 0 })
  return store
}

/** The same browser, cookie and all, pointed at another app. */
function switchApp(browser: Browser, to: FastifyInstance): Browser {
  const moved = new Browser(to)
  moved.cookie = browser.cookie
  return moved
}

/** The session id in a signed session cookie. */
const idOf = (browser: Browser) => (browser.cookie as string).split('.')[0] as string
const names = () => fs.readdirSync(directory).sort()

test('users logged in with 0.3.0 stay logged in with the same data after the switch', async () => {
  const legacy = new LegacyFileStore(directory)
  const plain = new Browser(await app(legacy))
  const withMaxAge = new Browser(await app(legacy, MAX_AGE))
  await plain.get('/login?userId=ada')
  await plain.get('/roles?role=admin') // a nested change
  await plain.get('/')
  await withMaxAge.get('/login?userId=bob')
  await withMaxAge.get('/roles?role=editor')
  const before = [await plain.json('/me'), await withMaxAge.json('/me')]
  expect(before.map((response) => response.status)).toEqual([200, 200])
  // 0.3.0's own files: <directory>/<id>, the whole session JSON, cookie.expires included.
  expect(names()).toEqual([idOf(plain), idOf(withMaxAge)].sort())
  const legacyJson = JSON.parse(fs.readFileSync(path.join(directory, idOf(withMaxAge)), 'utf8'))
  const plainWrittenAt = fs.statSync(path.join(directory, idOf(plain))).mtimeMs

  const upgraded = await upgrade()
  expect((await upgraded.repository.getEntry(idOf(withMaxAge)))?.expiresAt).toBe(
    Date.parse(legacyJson.cookie.expires),
  )
  const plainExpiry = (await upgraded.repository.getEntry(idOf(plain)))?.expiresAt ?? 0
  expect(Math.abs(plainExpiry - (plainWrittenAt + TTL))).toBeLessThanOrEqual(1)
  const after = [
    await switchApp(plain, await app(upgraded)).json('/me'),
    await switchApp(withMaxAge, await app(upgraded, MAX_AGE)).json('/me'),
  ]
  expect(after).toEqual(before)
  expect(names()).toEqual([`${idOf(plain)}.json`, `${idOf(withMaxAge)}.json`].sort())
  expect(warnings).toEqual([])
})

test('an expired 0.3.0 session is a miss and its file goes', async () => {
  const legacy = new LegacyFileStore(directory)
  const expired = new Browser(await app(legacy, MAX_AGE))
  const idle = new Browser(await app(legacy))
  await expired.get('/login?userId=ada')
  await idle.get('/login?userId=bob')
  // 0.3.0 itself writes the session again, with a cookie that expired an hour ago.
  const session = JSON.parse(fs.readFileSync(path.join(directory, idOf(expired)), 'utf8'))
  session.cookie.expires = new Date(Date.now() - 3_600_000).toISOString()
  await call<void>((done) => legacy.set(idOf(expired), session as Session, done))
  // No cookie.expires: it expires ttl after 0.3.0 last wrote it, two days ago.
  const past = (Date.now() - 2 * TTL) / 1000
  fs.utimesSync(path.join(directory, idOf(idle)), past, past)

  const upgraded = await upgrade()
  expect((await switchApp(expired, await app(upgraded, MAX_AGE)).json('/me')).status).toBe(401)
  expect((await switchApp(idle, await app(upgraded)).json('/me')).status).toBe(401)
  // (@fastify/session gave each browser a new session, with a new id.)
  const ids = [idOf(expired), idOf(idle)]
  expect(names().filter((name) => ids.some((id) => name.startsWith(id)))).toEqual([])
})

test('after prune and a round of requests no 0.3.0 file is left, beside a new one or alone', async () => {
  const legacy = new LegacyFileStore(directory)
  const browsers = [new Browser(await app(legacy)), new Browser(await app(legacy))]
  for (const [index, browser] of browsers.entries()) await browser.get(`/login?userId=${index}`)
  const upgraded = await upgrade()
  const current = await app(upgraded)
  // The first browser's session is converted; then 0.3.0 writes it again, as a crash between
  // the conversion and the removal of the old file would leave it.
  const first = switchApp(browsers[0] as Browser, current)
  await first.get('/roles?role=new')
  await call<void>((done) =>
    legacy.set(idOf(first), { cookie: { expires: null }, user: { id: 'stale' } } as never, done),
  )
  expect(names()).toEqual([idOf(first), `${idOf(first)}.json`, idOf(browsers[1] as Browser)].sort())
  expect(await upgraded.prune()).toBe(0)
  for (const browser of browsers) await switchApp(browser, current).get('/me')
  expect(names()).toEqual(browsers.map((browser) => `${idOf(browser)}.json`).sort())
  expect((await first.json('/me')).body).toMatchObject({ user: { id: '0', roles: ['new'] } })
})

test('list, revoke, all and length see 0.3.0 sessions; directory is the path as given', async () => {
  const legacy = new LegacyFileStore(directory)
  const browser = new Browser(await app(legacy))
  await browser.get('/login?userId=ada')
  const [stored] = await legacy.list()
  const upgraded = await upgrade()
  expect(upgraded.directory).toBe(directory)
  expect(await call<number>((done) => upgraded.length(done))).toBe(1)
  const [listed] = await upgraded.list()
  expect(listed).toMatchObject({ id: idOf(browser), data: { user: { id: 'ada', roles: [] } } })
  expect(listed?.data).toEqual(JSON.parse(JSON.stringify(stored?.data)))
  expect(listed?.updatedAt).toBeInstanceOf(Date)
  expect(Math.abs((listed?.updatedAt.getTime() ?? 0) - Date.now())).toBeLessThan(60_000)
  await upgraded.revoke(idOf(browser))
  await upgraded.revoke('not/a/valid id')
  expect(await upgraded.list()).toEqual([])
  expect(await call<Session[]>((done) => upgraded.all(done))).toEqual([])
  expect(names()).toEqual([])
})

test('a 0.3.0 file that is no session object is moved aside and reported, as any corrupt file', async () => {
  const legacy = new LegacyFileStore(directory)
  await call<void>((done) => legacy.set('Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp', [1] as never, done))
  const upgraded = await upgrade()
  expect(await call((done) => upgraded.get('Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp', done))).toBeNull()
  expect(names()).toEqual([
    expect.stringMatching(/^Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp\.corrupt-\d+$/),
  ])
  // Named by fingerprint, as every corrupt file of a FileStore is: never by id or path.
  expect(warnings).toEqual([
    expect.stringMatching(
      /^The file of key #[0-9a-f]{8} is no entry of the earlier format; it was moved aside \(\.corrupt-\d+\)$/,
    ),
  ])
})

test('a 0.3.0 file over maxFileSize or with __proto__ keys is read as any file', async () => {
  const legacy = new LegacyFileStore(directory)
  const browsers = [new Browser(await app(legacy)), new Browser(await app(legacy))]
  for (const browser of browsers) await browser.get('/login?userId=ada')
  const [huge, poisoned] = browsers.map(idOf) as [string, string]
  const padding = 'x'.repeat(2048)
  await call<void>((done) =>
    legacy.set(huge, { cookie: { expires: null }, user: { id: padding } } as never, done),
  )
  const nested = '{"__proto__":{"admin":true},"id":"ada","roles":[]}'
  fs.writeFileSync(
    path.join(directory, poisoned),
    `{"cookie":{"expires":null},"user":${nested},"__proto__":{"admin":true}}`,
  )
  for (const started of apps.splice(0)) await started.close()
  store = new FileStore({ directory, logger, fsync: false, pruneInterval: 0, maxFileSize: 1024 })
  const current = await app(store)
  expect((await switchApp(browsers[0] as Browser, current).json('/me')).status).toBe(401)
  expect(warnings).toEqual([
    expect.stringMatching(/^The file of key #[0-9a-f]{8} is larger than maxFileSize/),
  ])
  expect(warnings.join()).not.toContain(huge)
  const me = await switchApp(browsers[1] as Browser, current).json('/me')
  expect(me.body).toEqual({ user: { id: 'ada', roles: [] }, views: 0 })
  const stored = fs.readFileSync(path.join(directory, `${poisoned}.json`), 'utf8')
  expect(stored).not.toContain('__proto__')
  expect(names().filter((name) => name.startsWith(huge))).toEqual([
    expect.stringMatching(/\.corrupt-\d+$/),
  ])
})

test('a request in flight when a 0.3.0 session is revoked does not bring it back', async () => {
  const legacy = new LegacyFileStore(directory)
  const browser = new Browser(await app(legacy))
  await browser.get('/login?userId=ada')
  const id = idOf(browser)
  const upgraded = await upgrade()
  const current = switchApp(browser, await app(upgraded))
  // Converted by the request's get; then revoked (as an admin page of @itrocks/session does)
  // while the request is held, and the request saves a change after that.
  const held = current.get('/hold?change=1')
  expect(await waitFor(() => gate.waiting === 1, 30_000)).toBe(true)
  expect(names()).toEqual([`${id}.json`])
  await upgraded.revoke(id)
  gate.release()
  expect((await held).statusCode).toBe(200)
  expect(names()).toEqual([])
  expect((await current.json('/me')).status).toBe(401)
})

test('with legacyFiles: false, 0.3.0 files are left alone', async () => {
  const legacy = new LegacyFileStore(directory)
  const browser = new Browser(await app(legacy))
  await browser.get('/login?userId=ada')
  for (const started of apps.splice(0)) await started.close()
  store = new FileStore({ directory, logger, legacyFiles: false })
  const id = idOf(browser)
  const before = fs.readFileSync(path.join(directory, id), 'utf8')
  expect((await switchApp(browser, await app(store)).json('/me')).status).toBe(401)
  expect(names().filter((name) => name.startsWith(id))).toEqual([id])
  expect(fs.readFileSync(path.join(directory, id), 'utf8')).toBe(before)
  await expect(store.migrate()).rejects.toThrow(TypeError)
  expect(() => new FileStore({ directory, legacyFiles: 'yes' as never })).toThrow('`legacyFiles`')
})

test('json-file-repository migrate, run twice while a server writes, converts all and loses nothing', async () => {
  const legacy = new LegacyFileStore(directory)
  const legacyApp = await app(legacy)
  const browsers = Array.from({ length: 200 }, () => new Browser(legacyApp))
  for (const [index, browser] of browsers.entries()) await browser.get(`/login?userId=${index}`)
  const upgraded = await upgrade()
  const current = await app(upgraded)
  const users = browsers.map((browser) => switchApp(browser, current))
  // The server writes the even half; only the migrations can convert the odd half.
  const active = users.filter((_, index) => index % 2 === 0)
  const roles: string[] = []
  const migrate = async () =>
    (await promisify(execFile)(process.execPath, [cli, 'migrate', directory])).stdout
  const migrations = Promise.all([migrate(), migrate()])
  let running = true
  migrations.finally(() => {
    running = false
  })
  // Rounds of nested changes on the active sessions until both migrations are done.
  for (let round = 0; round === 0 || running; round++) {
    await Promise.all(active.map((user) => user.get(`/roles?role=r${round}`)))
    roles.push(`r${round}`)
  }
  const converted = (await migrations).map((stdout) => {
    const match = /^migrated (\d+), superseded (\d+), expired 0, moved aside 0\n$/.exec(stdout)
    expect(match).not.toBeNull()
    return Number(match?.[1]) + Number(match?.[2])
  })
  expect(converted.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(users.length / 2)
  expect(await migrate()).toBe('migrated 0, superseded 0, expired 0, moved aside 0\n')
  expect(names()).toEqual(users.map((user) => `${idOf(user)}.json`).sort())
  for (const [index, user] of users.entries()) {
    expect((await user.json('/me')).body).toEqual({
      user: { id: String(index), roles: index % 2 === 0 ? roles : [] },
      views: 0,
    })
  }
}, 120_000)

import fs from 'node:fs'
import path from 'node:path'
import {
  describeSessionFiles,
  describeThrowingCallback,
  memoryLogger,
  promisedStore,
  STAMPED_FROM,
} from '@json-file-repository/test-helpers'
import {
  FileStore,
  type FileStoreOptions,
  fingerprint,
  JsonFileRepositoryError,
} from 'express-file-session-store'
import session, { Store } from 'express-session'
import { SessionFiles, sessionFileStoreSessions } from 'json-file-repository'
import sessionFileStore from 'session-file-store'
import {
  Browser,
  call,
  fakeClock,
  makeTempDirectory,
  type RunningApp,
  removeDirectory,
  startApp,
  waitFor,
} from './app'

const ID = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345'
const SessionFileStore = sessionFileStore(session)

let directory: string
const closing: (() => Promise<void>)[] = []
beforeEach(() => {
  directory = makeTempDirectory('express-file-store')
})
afterEach(async () => {
  jest.useRealTimers()
  for (const close of closing.splice(0).reverse()) await close()
  removeDirectory(directory)
})

function fileStore(options: object = {}): FileStore {
  const store = new FileStore({ directory, fsync: false, ...options })
  closing.push(() => store.close())
  return store
}

async function app(
  store: Store,
  options: Parameters<typeof startApp>[1] = {},
): Promise<RunningApp> {
  const running = await startApp(store, options)
  closing.push(() => running.close())
  return running
}

/** session-file-store 1.5 itself, writing in `directory`, its reaper off. */
function oldStore(): Store {
  const store = new SessionFileStore({ path: directory, reapInterval: -1, logFn: () => {} })
  return store
}

/**
 * Logs `userIds` in (and counts a view for the first) on an app on session-file-store, which
 * writes its files; resolves to the first one's session cookie and file name.
 */
async function loggedInBySessionFileStore(
  userIds: string[],
  options: Parameters<typeof startApp>[1] = {},
): Promise<{ cookie: string | undefined; file: string }> {
  const before = await startApp(oldStore(), options)
  const visitors = userIds.map(() => new Browser(before.url))
  for (const [i, visitor] of visitors.entries()) await visitor.get(`/login?userId=${userIds[i]}`)
  await visitors[0]?.get('/')
  await before.close()
  const cookie = visitors[0]?.cookie
  const file = `${
    decodeURIComponent(cookie ?? '')
      .replace(/^s:/, '')
      .split('.')[0]
  }.json`
  return { cookie, file }
}

/** A browser on `running` that holds `cookie`. */
function returning(running: RunningApp, cookie: string | undefined): Browser {
  const browser = new Browser(running.url)
  browser.cookie = cookie
  return browser
}

const mtimeOf = (file: string) => fs.statSync(path.join(directory, file)).mtimeMs
const jsonOf = (file: string) => JSON.parse(fs.readFileSync(path.join(directory, file), 'utf8'))

describe('express-session', () => {
  test('FileStore is an express-session Store, with its regenerate, load, createSession and events', () => {
    const store = fileStore()
    expect(store).toBeInstanceOf(Store)
    for (const method of ['regenerate', 'load', 'createSession', 'on', 'emit'] as const) {
      expect(typeof store[method]).toBe('function')
    }
  })

  test('sessions survive a restart: a new store on the directory serves them', async () => {
    const first = fileStore()
    const before = await startApp(first)
    const visitor = new Browser(before.url)
    await visitor.get('/login?userId=ada')
    await before.close()
    await first.close()
    const after = await app(fileStore())
    const returning = new Browser(after.url)
    returning.cookie = visitor.cookie
    expect((await returning.get('/me')).body).toMatchObject({ user: { id: 'ada' } })
  })

  test('requests that change nothing, rolling, touch no file within touchAfter', async () => {
    const store = fileStore()
    const visitor = new Browser(
      (await app(store, { rolling: true, cookie: { maxAge: 3_600_000 } })).url,
    )
    await visitor.get('/login?userId=1')
    const { writes, touches } = store.repository.stats()
    for (let i = 0; i < 5; i++) expect((await visitor.get('/me')).status).toBe(200)
    expect(store.repository.stats()).toMatchObject({ writes, touches })
    expect(store.repository.stats().skipped).toBeGreaterThanOrEqual(5)
  })

  test('a cookie copied with `_expires` (not turned into JSON) keeps its expiry, stored on the file', async () => {
    const store = fileStore()
    const expires = new Date(Date.now() + 3_600_000)
    const copied = { cookie: { _expires: expires, originalMaxAge: 3_600_000, path: '/' }, a: 1 }
    await call<void>((done) => store.set(ID, copied as never, done))
    const entry = await store.repository.getEntry(ID)
    expect(entry?.expiresAt).toBe(expires.getTime())
    expect(entry?.value).toEqual({ cookie: { originalMaxAge: 3_600_000, path: '/' }, a: 1 })
    const loaded = await call((done) => store.get(ID, done))
    expect(loaded).toMatchObject({ cookie: { expires: expires.toISOString() }, a: 1 })
  })

  test('an error names the session by fingerprint, never by its id', async () => {
    const store = fileStore({ maxFileSize: 200 })
    const big = { cookie: { expires: null }, data: 'x'.repeat(500) }
    const error = await call<void>((done) => store.set(ID, big as never, done)).catch((e) => e)
    expect(error).toBeInstanceOf(JsonFileRepositoryError)
    expect(error.code).toBe('ERR_INVALID_VALUE')
    expect(error.message).toContain(fingerprint(ID))
    expect(error.message).not.toContain(ID)
    expect(error.message).not.toContain(directory)
  })

  test("an error converting a session-file-store file names the session by fingerprint in the core's promise API too", async () => {
    const files = new SessionFiles(
      { directory, maxFileSize: 200, fsync: false },
      sessionFileStoreSessions,
    )
    closing.push(() => files.close())
    // Under 200 bytes in the file; JSON.stringify spells each 1e9 out, which takes it over.
    const numbers = Array.from({ length: 15 }, () => '1e9').join(',')
    const text = `{"cookie":{"originalMaxAge":null},"__lastAccess":${Date.now()},"n":[${numbers}]}`
    expect(text.length).toBeLessThan(200)
    fs.writeFileSync(path.join(directory, `${ID}.json`), text)
    const error = await files.get(ID).catch((e: unknown) => e)
    expect(error).toEqual(expect.objectContaining({ code: 'ERR_INVALID_VALUE' }))
    expect((error as Error).message).toContain(fingerprint(ID))
    expect((error as Error).message).not.toContain(ID)
  })

  test('a save without a callback that fails is reported to the logger, by fingerprint', async () => {
    const logger = memoryLogger()
    const store = fileStore({ logger, maxFileSize: 200 })
    store.set(ID, { cookie: { expires: null }, data: 'x'.repeat(500) } as never)
    const errors = () => logger.records.filter((entry) => entry.level === 'error')
    expect(await waitFor(() => errors().length > 0)).toBe(true)
    const [record] = errors()
    expect(record?.message).toBe('session store failure')
    expect(JSON.stringify(record)).not.toContain(ID)
  })

  describeThrowingCallback(path.join(__dirname, '../dist'), () => directory)

  test("session-file-store's options are refused, with ours suggested", () => {
    expect(() => fileStore({ reapInterval: 60 })).toThrow(
      'Unknown option `reapInterval`: did you mean `pruneInterval`?',
    )
    expect(() => fileStore({ path: directory })).toThrow(
      /^Unknown option `path`; the options are `directory`, `ttl`/,
    )
  })

  test('files are 0600, a crafted id is a miss, and a planted symlink is not followed', async () => {
    const store = fileStore()
    const visitor = new Browser((await app(store)).url)
    await visitor.get('/login?userId=1')
    const [file] = fs.readdirSync(directory)
    expect(fs.statSync(path.join(directory, file as string)).mode & 0o777).toBe(0o600)
    expect(await call((done) => store.get('../../etc/passwd', done))).toBeNull()
    const outside = makeTempDirectory('express-outside')
    closing.push(async () => removeDirectory(outside))
    fs.writeFileSync(path.join(outside, 'target.json'), '{"cookie":{},"user":{"id":"root"}}')
    fs.symlinkSync(path.join(outside, 'target.json'), path.join(directory, `${ID}.json`))
    expect(await call((done) => store.get(ID, done))).toBeNull()
    expect(fs.readFileSync(path.join(outside, 'target.json'), 'utf8')).toContain('root')
  })
})

describe('the files session-file-store left', () => {
  test('users logged in with session-file-store stay logged in after the switch', async () => {
    const maxAge = { cookie: { maxAge: 3_600_000 } }
    const { cookie, file } = await loggedInBySessionFileStore(['grace'], maxAge)
    expect(jsonOf(file)).toHaveProperty('__lastAccess')
    expect(mtimeOf(file)).toBeLessThan(STAMPED_FROM)

    const visitor = returning(await app(fileStore(), maxAge), cookie)
    expect((await visitor.get('/me')).body).toMatchObject({ user: { id: 'grace' }, views: 1 })
    expect((await visitor.get('/')).body).toEqual({ views: 2 })
    // Converted to this store's format: the expiry on the file, no `__lastAccess`.
    expect(fs.readdirSync(directory)).toEqual([file])
    expect(mtimeOf(file)).toBeGreaterThanOrEqual(STAMPED_FROM)
    expect(jsonOf(file)).not.toHaveProperty('__lastAccess')
  })

  test('a session-file-store session past its maxAge is a miss, and its file is removed', async () => {
    const maxAge = { cookie: { maxAge: 60_000 } }
    const { cookie, file } = await loggedInBySessionFileStore(['old'], maxAge)
    const clock = fakeClock()
    const visitor = returning(await app(fileStore(), maxAge), cookie)
    clock.advance(61_000)
    expect((await visitor.get('/me')).status).toBe(401)
    expect(fs.existsSync(path.join(directory, file))).toBe(false)
  })

  test('a browser-session cookie of session-file-store stays one, and lasts `ttl` from its last access', async () => {
    const { file } = await loggedInBySessionFileStore(['tab'])
    const lastAccess = jsonOf(file).__lastAccess as number
    const store = fileStore({ ttl: 600_000 })
    const id = file.replace(/\.json$/, '')
    const loaded = await call<{ cookie: { expires: unknown } }>((done) =>
      store.get(id, done as never),
    )
    expect(loaded?.cookie.expires).toBeNull()
    expect((await store.repository.getEntry(id))?.expiresAt).toBe(lastAccess + 600_000)
  })

  test('migrate() converts every session-file-store file now, and prune() then removes those that expire', async () => {
    await loggedInBySessionFileStore(['a', 'b', 'c'], { cookie: { maxAge: 60_000 } })
    const store = fileStore()
    expect(await store.migrate()).toEqual({ migrated: 3, superseded: 0, expired: 0, corrupt: 0 })
    expect(await store.migrate()).toEqual({ migrated: 0, superseded: 0, expired: 0, corrupt: 0 })
    for (const file of fs.readdirSync(directory))
      expect(mtimeOf(file)).toBeGreaterThanOrEqual(STAMPED_FROM)
    const clock = fakeClock()
    clock.advance(61_000)
    expect(await store.prune()).toBe(3)
    expect(fs.readdirSync(directory)).toEqual([])
  })

  test('with legacyFiles: false, a session-file-store file is read as it is and migrate() refuses', async () => {
    const { file } = await loggedInBySessionFileStore(['x'])
    const store = fileStore({ legacyFiles: false })
    await expect(store.migrate()).rejects.toThrow(TypeError)
    await call((done) => store.get(file.replace(/\.json$/, ''), done))
    expect(mtimeOf(file)).toBeLessThan(STAMPED_FROM)
  })
})

describeSessionFiles(
  'FileStore',
  (options) => promisedStore(new FileStore(options as FileStoreOptions)),
  JsonFileRepositoryError,
)

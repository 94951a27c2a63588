import fs from 'node:fs'
import path from 'node:path'
import {
  describeSessionFiles,
  describeThrowingCallback,
  promisedStore,
} from '@json-file-repository/test-helpers'
import type { FastifyInstance, Session } from 'fastify'
import {
  FileStore,
  type FileStoreOptions,
  JsonFileRepositoryError,
} from 'fastify-file-session-store'
import { Browser, buildApp, call, sleep, temporaryDirectory } from './app'
import { HttpBrowser, startServer } from './http'

// Servers in child processes: sized for a loaded machine.
jest.setTimeout(120_000)

const ID = 'Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp' // shaped like @fastify/session's default ids

let directory: string
let store: FileStore
let app: FastifyInstance | undefined
const logger = { warn: () => {}, error: () => {} }

function open(options: Omit<FileStoreOptions, 'directory'> = {}) {
  store = new FileStore({ directory, logger, fsync: false, ...options })
  return store
}

function session(data: Record<string, unknown> = {}, cookie: Record<string, unknown> = {}) {
  return {
    cookie: { originalMaxAge: null, expires: null, path: '/', ...cookie },
    ...data,
  } as unknown as Session
}

const setSession = (id: string, value: Session) => call<void>((done) => store.set(id, value, done))
const getSession = (id: string) => call<Session | null>((done) => store.get(id, done))

beforeEach(() => {
  directory = temporaryDirectory('file-store')
})
afterEach(async () => {
  jest.useRealTimers()
  await app?.close()
  app = undefined
  await store?.close()
  fs.rmSync(directory, { recursive: true, force: true })
})

describe('drop-in for @itrocks/fastify-file-session-store', () => {
  test('new FileStore(directory) works and sessionFile(id) is <directory>/<id>.json', async () => {
    store = new FileStore(directory)
    expect(store.sessionFile(ID)).toBe(path.join(directory, `${ID}.json`))
    await setSession(ID, session({ user: { id: '1' } }))
    expect(JSON.parse(fs.readFileSync(store.sessionFile(ID), 'utf8'))).toMatchObject({
      user: { id: '1' },
    })
  })

  test('the directory is created with mode 0700 and files are 0600', async () => {
    const nested = path.join(directory, 'a/b')
    store = new FileStore(nested)
    await setSession(ID, session())
    expect(fs.statSync(nested).mode & 0o777).toBe(0o700)
    expect(fs.statSync(store.sessionFile(ID)).mode & 0o777).toBe(0o600)
  })
})

describe('callbacks', () => {
  test('each callback is called once, asynchronously', async () => {
    open()
    const order: string[] = []
    await new Promise<void>((resolve) => {
      store.set(ID, session({ a: 1 }), () => {
        order.push('set')
        store.get(ID, (_, value) => {
          order.push(`get ${(value as unknown as { a: number }).a}`)
          store.destroy(ID, () => {
            order.push('destroy')
            resolve()
          })
          order.push('after destroy call')
        })
        order.push('after get call')
      })
      order.push('after set call')
    })
    await sleep(20)
    expect(order).toEqual([
      'after set call',
      'set',
      'after get call',
      'get 1',
      'after destroy call',
      'destroy',
    ])
  })

  describeThrowingCallback(path.join(__dirname, '../dist'), () => directory)
})

describe('lazy writes', () => {
  test('requests that only move cookie.expires write nothing, a change is written', async () => {
    open()
    app = await buildApp(store, { cookie: { secure: false, maxAge: 86_400_000 } })
    const browser = new Browser(app)
    await browser.json('/login?userId=1')
    const afterLogin = store.repository.stats()
    for (let i = 0; i < 20; i++) expect((await browser.json('/me')).status).toBe(200)
    const afterReads = store.repository.stats()
    expect(afterReads.writes).toBe(afterLogin.writes)
    expect(afterReads.touches).toBe(afterLogin.touches)
    expect(afterReads.skipped - afterLogin.skipped).toBe(20)

    await browser.json('/roles?role=admin')
    expect(store.repository.stats().writes).toBe(afterReads.writes + 1)
    const stored = JSON.parse(fs.readFileSync(store.sessionFile(cookieId(browser)), 'utf8'))
    expect(stored.user.roles).toEqual(['admin'])
  })

  test('with touchAfter 0 a rolling request moves the expiry without rewriting the file', async () => {
    open({ touchAfter: 0 })
    app = await buildApp(store, { cookie: { secure: false, maxAge: 86_400_000 } })
    const browser = new Browser(app)
    await browser.json('/login?userId=1')
    const file = store.sessionFile(cookieId(browser))
    const before = fs.statSync(file)
    await sleep(5)
    await browser.json('/me')
    const after = fs.statSync(file)
    expect(after.ino).toBe(before.ino)
    expect(after.mtimeMs).toBeGreaterThan(before.mtimeMs)
    expect(store.repository.stats().touches).toBe(1)
  })

  test('get returns the expiry actually stored, not the one of the last request', async () => {
    open({ touchAfter: 60_000 })
    const expires = new Date(Date.now() + 3_600_000)
    await setSession(ID, session({ n: 1 }, { originalMaxAge: 3_600_000, expires }))
    // Only the expiry moved, by less than touchAfter: nothing is written.
    await setSession(
      ID,
      session({ n: 1 }, { originalMaxAge: 3_600_000, expires: new Date(expires.getTime() + 1000) }),
    )
    const got = (await getSession(ID)) as unknown as { cookie: { expires: string } }
    expect(new Date(got.cookie.expires).getTime()).toBe(expires.getTime())
    expect((await store.repository.getEntry(ID))?.expiresAt).toBe(expires.getTime())
  })
})

// Time passes on a faked clock (Date only): an expiry passes when the test moves the clock, never
// before, however slow the machine.
describe('hostile ids, files and values', () => {
  test('own __proto__, constructor and prototype keys are dropped and pollute nothing', async () => {
    open()
    app = await buildApp(store)
    const browser = new Browser(app)
    await browser.json('/login?userId=1')
    const file = store.sessionFile(cookieId(browser))
    const stored = fs.readFileSync(file, 'utf8')
    fs.writeFileSync(
      file,
      `${stored.slice(0, -1)},"__proto__":{"polluted":true,"user":{"id":"admin"}},"constructor":{"x":1},"prototype":{"y":2}}`,
    )
    const me = await browser.json('/me')
    expect(me).toEqual({ status: 200, body: { user: { id: '1', roles: [] }, views: 0 } })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const got = (await getSession(cookieId(browser))) as unknown as Record<string, unknown>
    expect(Object.keys(got).sort()).toEqual(['cookie', 'user'])
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype)
  })

  test('a session that is not an object is an error through the callback, never a throw', async () => {
    open()
    for (const bad of [null, undefined, 42]) {
      let error: unknown
      let touchError: unknown
      const calledBack = new Promise<void>((resolve) => {
        expect(() =>
          store.set(ID, bad as never, (e) => {
            error = e
            resolve()
          }),
        ).not.toThrow()
      })
      const touchCalledBack = new Promise<void>((resolve) => {
        expect(() =>
          store.touch(ID, bad as never, (e) => {
            touchError = e
            resolve()
          }),
        ).not.toThrow()
      })
      await Promise.all([calledBack, touchCalledBack])
      expect(error).toBeInstanceOf(Error)
      expect(touchError).toBeInstanceOf(Error)
    }
    expect(fs.readdirSync(directory)).toEqual([])
  })

  test('an I/O error is an error (the request fails), not a logout, and it recovers', async () => {
    open()
    app = await buildApp(store)
    const browser = new Browser(app)
    await browser.json('/login?userId=1')
    const aside = `${directory}.aside`
    fs.renameSync(directory, aside)
    fs.writeFileSync(directory, 'not a directory') // every read now fails with ENOTDIR
    try {
      const response = await browser.get('/me')
      expect(response.statusCode).toBe(500)
    } finally {
      fs.rmSync(directory)
      fs.renameSync(aside, directory)
    }
    expect((await browser.json('/me')).body).toMatchObject({ user: { id: '1' } })
  })
})

describe('store methods beyond get/set/destroy', () => {
  test('all, length, touch and clear', async () => {
    open()
    await setSession('a', session({ n: 1 }))
    await setSession('b', session({ n: 2 }))
    fs.writeFileSync(path.join(directory, 'notes.txt'), 'not a session')
    const all = await call<Session[]>((done) => store.all(done))
    expect((all as unknown as { n: number }[]).map((s) => s.n).sort()).toEqual([1, 2])
    expect(await call<number>((done) => store.length(done))).toBe(2)

    const expires = new Date(Date.now() + 3_600_000)
    await call<void>((done) =>
      store.touch('a', session({ n: 1 }, { expires, originalMaxAge: 3_600_000 }), done),
    )
    expect((await store.repository.getEntry('a'))?.expiresAt).toBe(expires.getTime())

    await call<void>((done) => store.clear(done))
    expect(await call<number>((done) => store.length(done))).toBe(0)
    expect(fs.readdirSync(directory)).toEqual(['notes.txt'])
  })
})

describe('restarts and several processes', () => {
  test('a session survives a restart of the app on the same directory', async () => {
    open()
    app = await buildApp(store)
    const browser = new Browser(app)
    await browser.json('/login?userId=77')
    await browser.json('/')
    await app.close()
    await store.close()

    open()
    app = await buildApp(store)
    const restarted = new Browser(app)
    restarted.cookie = browser.cookie
    expect((await restarted.json('/me')).body).toEqual({ user: { id: '77', roles: [] }, views: 1 })
  })

  test('real HTTP: login, views, logout through a listening server', async () => {
    open()
    app = await buildApp(store)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const browser = new HttpBrowser()
    expect((await browser.json(base, '/')).body).toEqual({ views: 1 })
    expect((await browser.json(base, '/')).body).toEqual({ views: 2 })
    await browser.json(base, '/login?userId=5')
    expect((await browser.json(base, '/me')).body).toEqual({
      user: { id: '5', roles: [] },
      views: 2,
    })
    await browser.json(base, '/logout')
    expect((await browser.json(base, '/me')).status).toBe(401)
  })

  describe('two server processes on one directory', () => {
    test('a login, an update and a logout in one hold in the other on its next request', async () => {
      const servers = await Promise.all([startServer(directory), startServer(directory)])
      try {
        const [one, two] = servers.map((server) => server.url) as [string, string]
        const browser = new HttpBrowser()
        await browser.json(one, '/login?userId=12')
        expect((await browser.json(two, '/me')).body).toEqual({ user: { id: '12' }, views: 0 })
        expect((await browser.json(one, '/')).body).toMatchObject({ views: 1 })
        expect((await browser.json(two, '/')).body).toMatchObject({ views: 2 })
        expect((await browser.json(one, '/me')).body).toEqual({ user: { id: '12' }, views: 2 })
        await browser.json(two, '/logout')
        expect((await browser.json(one, '/me')).status).toBe(401)
      } finally {
        await Promise.all(servers.map((server) => server.stop()))
      }
    })
  })
})

function cookieId(browser: Browser): string {
  // The cookie is `<id>.<signature>`; the id is what the store sees.
  return decodeURIComponent(browser.cookie as string).split('.')[0] as string
}

describeSessionFiles(
  'FileStore',
  (options) => promisedStore(new FileStore(options as FileStoreOptions)),
  JsonFileRepositoryError,
)

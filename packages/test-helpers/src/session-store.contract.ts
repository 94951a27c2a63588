/**
 * The behaviour a session store must have under its framework, written once and run by each
 * adapter through its own framework (@fastify/session, express-session), on real apps: against
 * the framework's own MemoryStore, the oracle of drop-in behaviour, and against every FileStore
 * configuration.
 */
import { execFileSync } from 'node:child_process'
import { call, fakeClock, sleep, waitFor } from './waits'

/** A store's callback API, as every framework calls it. */
export interface CallbackStore {
  set(sessionId: string, session: never, callback: (error?: unknown) => void): void
  get(sessionId: string, callback: (error: unknown, session?: unknown) => void): void
  destroy(sessionId: string, callback: (error?: unknown) => void): void
}

export interface StoreUnderTest<Store> {
  store: Store
  /** How many sessions the store holds. */
  stored(): Promise<number>
  /** Ends timers and removes files. */
  close(): Promise<void>
}

/** The session options the contract varies, in the framework's own terms by {@link SessionFramework.start}. */
export interface AppOptions {
  saveUninitialized?: boolean
  rolling?: boolean
  /** The cookie's maxAge in ms; none is a browser-session cookie. */
  maxAge?: number
}

/** What a response said. */
export interface Answer {
  status: number
  body: Record<string, unknown>
  /** The `Set-Cookie` of the session cookie, whole (with its attributes); none when not sent. */
  setCookie: string | undefined
}

/** A client of one app that keeps the session cookie (`sessionId`), like a browser. */
export interface Visitor {
  /** The cookie's value, as the framework signed it. */
  cookie: string | undefined
  get(url: string): Promise<Answer>
}

/**
 * A real app of the framework on a store, with the routes `/` (counts views), `/login?userId=`,
 * `/me` (401 without a user), `/roles?role=` (pushes to the user's roles), `/logout` and
 * `/regenerate` (a new id, the user kept).
 */
export interface RunningApp {
  visitor(): Visitor
  close(): Promise<void>
}

export interface SessionFramework<Store> {
  /** As the suites name it: `@fastify/session`, `express-session`. */
  name: string
  start(store: Store, options: AppOptions): Promise<RunningApp>
}

/** The `Expires` of a `Set-Cookie`, in ms since the epoch; `undefined` for none. */
export function expiresOf(setCookie: string | undefined): number | undefined {
  const expires = /;\s*Expires=([^;]+)/i.exec(setCookie ?? '')?.[1]
  return expires === undefined ? undefined : new Date(expires).getTime()
}

const ID = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345'

export function describeSessionStore<Store extends CallbackStore>(
  framework: SessionFramework<Store>,
  name: string,
  create: () => StoreUnderTest<Store>,
): void {
  describe(`${name} under ${framework.name}`, () => {
    let subject: StoreUnderTest<Store>
    const apps: RunningApp[] = []

    beforeEach(() => {
      subject = create()
    })
    afterEach(async () => {
      jest.useRealTimers()
      await Promise.all(apps.splice(0).map((app) => app.close()))
      await subject.close()
    })
    const start = async (options: AppOptions = {}) => {
      const app = await framework.start(subject.store, options)
      apps.push(app)
      return app
    }
    const browser = async (options: AppOptions = {}) => (await start(options)).visitor()

    test('a views counter goes up for one visitor and starts at 1 for another', async () => {
      const app = await start()
      const alice = app.visitor()
      for (let views = 1; views <= 5; views++) {
        expect((await alice.get('/')).body).toEqual({ views })
      }
      expect((await app.visitor().get('/')).body).toEqual({ views: 1 })
      expect((await alice.get('/')).body).toEqual({ views: 6 })
    })

    test('a login holds across requests and a logout ends it', async () => {
      const visitor = await browser()
      expect((await visitor.get('/me')).status).toBe(401)
      await visitor.get('/login?userId=42')
      expect((await visitor.get('/me')).body).toMatchObject({ user: { id: '42' } })
      expect((await visitor.get('/logout')).body).toEqual({ ok: true })
      expect((await visitor.get('/me')).status).toBe(401)
    })

    test('a nested change (user.roles.push) is saved', async () => {
      const visitor = await browser()
      await visitor.get('/login?userId=7')
      await visitor.get('/roles?role=admin')
      await visitor.get('/roles?role=editor')
      expect((await visitor.get('/me')).body).toMatchObject({
        user: { id: '7', roles: ['admin', 'editor'] },
      })
    })

    test('regenerate issues a new id, keeps the user (kept or copied over) and forgets the old id', async () => {
      const app = await start()
      const visitor = app.visitor()
      await visitor.get('/login?userId=9')
      const before = visitor.cookie
      await visitor.get('/regenerate')
      expect(visitor.cookie).not.toBe(before)
      expect((await visitor.get('/me')).body).toMatchObject({ user: { id: '9' } })
      const old = app.visitor()
      old.cookie = before
      expect((await old.get('/me')).status).toBe(401)
    })

    test('saveUninitialized: false stores nothing for a visitor who stores nothing', async () => {
      const visitor = await browser({ saveUninitialized: false })
      const answer = await visitor.get('/me')
      expect(answer.status).toBe(401)
      expect(answer.setCookie).toBeUndefined()
      expect(visitor.cookie).toBeUndefined()
      expect(await subject.stored()).toBe(0)
      await visitor.get('/login?userId=1')
      expect(visitor.cookie).toBeDefined()
      expect((await visitor.get('/me')).body).toMatchObject({ user: { id: '1' } })
      expect(await subject.stored()).toBe(1)
    })

    test('saveUninitialized: true stores the session of a visitor who stores nothing', async () => {
      const visitor = await browser({ saveUninitialized: true })
      const answer = await visitor.get('/me')
      expect(answer.status).toBe(401)
      expect(answer.setCookie).toBeDefined()
      expect(await subject.stored()).toBe(1)
    })

    test('rolling: false keeps the session and does not resend the cookie', async () => {
      const visitor = await browser({ rolling: false, maxAge: 60_000 })
      await visitor.get('/login?userId=3')
      const answer = await visitor.get('/me')
      expect(answer.body).toMatchObject({ user: { id: '3' } })
      expect(answer.setCookie).toBeUndefined()
    })

    test('rolling with maxAge sends a later expiry on every request and keeps the session', async () => {
      const visitor = await browser({ rolling: true, maxAge: 60_000 })
      const first = expiresOf((await visitor.get('/login?userId=4')).setCookie) ?? 0
      // Expires has a precision of one second: wait until a request now gets the next second.
      expect(await waitFor(() => Date.now() + 60_000 >= first + 1000)).toBe(true)
      const second = await visitor.get('/me')
      expect(expiresOf(second.setCookie)).toBeGreaterThan(first)
      expect(second.body).toMatchObject({ user: { id: '4' } })
    })

    // Time passes on a faked clock (Date only), by which the framework and the stores judge
    // expiry: a maxAge passes when the test moves the clock, never before.
    test('a session whose maxAge has passed is not served', async () => {
      const clock = fakeClock()
      const visitor = await browser({ maxAge: 300 })
      await visitor.get('/login?userId=5')
      expect((await visitor.get('/me')).status).toBe(200)
      clock.advance(450)
      expect((await visitor.get('/me')).status).toBe(401)
    })

    test('a session kept busy within its maxAge never expires', async () => {
      const clock = fakeClock()
      const visitor = await browser({ maxAge: 400 })
      await visitor.get('/login?userId=6')
      for (let i = 0; i < 8; i++) {
        clock.advance(100)
        expect((await visitor.get('/me')).status).toBe(200)
      }
    })

    test('a browser-session cookie (no maxAge) keeps its session and gets no Expires', async () => {
      const visitor = await browser()
      const login = await visitor.get('/login?userId=8')
      expect(login.setCookie).toBeDefined()
      expect(expiresOf(login.setCookie)).toBeUndefined()
      expect((await visitor.get('/me')).body).toMatchObject({ user: { id: '8' } })
    })

    test('a cookie with a forged or unknown id gets a fresh session', async () => {
      const visitor = await browser()
      visitor.cookie = 'not-a-signed-id'
      expect((await visitor.get('/')).body).toEqual({ views: 1 })
      expect((await visitor.get('/')).body).toEqual({ views: 2 })
      visitor.cookie = `s:${'x'.repeat(32)}.forged`
      expect((await visitor.get('/')).body).toEqual({ views: 1 })
    })

    test('set, get and destroy call back once each, and get after destroy misses', async () => {
      const { store } = subject
      const session = {
        cookie: { originalMaxAge: null, expires: null, path: '/' },
        user: { id: 'x' },
      }
      const calls: string[] = []
      await call<void>((done) =>
        store.set(ID, session as never, (error) => {
          calls.push('set')
          done(error)
        }),
      )
      expect(await call((done) => store.get(ID, done))).toMatchObject({ user: { id: 'x' } })
      await call<void>((done) => store.destroy(ID, done))
      expect(await call((done) => store.get(ID, done))).toBeFalsy()
      await call<void>((done) => store.destroy('never-existed', done))
      await sleep(10)
      expect(calls).toEqual(['set'])
    })
  })
}

/**
 * A callback that throws, in a process of its own as in an app: with `FileStore` of the built
 * adapter in `dist` on `directory`.
 */
export function describeThrowingCallback(dist: string, directory: () => string): void {
  test.each(['get', 'set'])(
    'a callback that throws is an uncaught exception, as with MemoryStore, and is called once (%s)',
    (method) => {
      // A throw inside a promise chain would instead be an unhandled rejection, which MemoryStore
      // never gives.
      const script = `
      const { FileStore } = require(${JSON.stringify(dist)})
      const store = new FileStore(${JSON.stringify(directory())})
      let calls = 0
      const seen = []
      process.on('unhandledRejection', (error) => seen.push('unhandledRejection: ' + error.message))
      process.on('uncaughtException', (error) => seen.push('uncaughtException: ' + error.message))
      const callback = () => { calls++; throw new Error('boom') }
      if (${JSON.stringify(method)} === 'get') store.get('some-id', callback)
      else store.set('some-id', { cookie: {} }, callback)
      // Once nothing is left to run: the callback cannot be called again after.
      process.on('exit', () => require('node:fs').writeSync(1, JSON.stringify({ calls, seen })))`
      const output = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
      expect(JSON.parse(output)).toEqual({ calls: 1, seen: ['uncaughtException: boom'] })
    },
  )
}

import type { SessionStore } from '@fastify/session'
import type { FastifyInstance } from 'fastify'
import { Browser, buildApp, call, fakeClock, sleep, waitFor } from './app'

export interface StoreUnderTest {
  store: SessionStore
  /** Ends timers and removes files. */
  close(): Promise<void>
}

/**
 * Behaviour a session store must have under @fastify/session. Run against @fastify/session's
 * own MemoryStore, the oracle of drop-in behaviour, and against every FileStore configuration.
 */
export function describeSessionStore(name: string, create: () => StoreUnderTest): void {
  describe(`${name} under @fastify/session`, () => {
    let subject: StoreUnderTest
    const apps: FastifyInstance[] = []

    beforeEach(() => {
      subject = create()
    })
    afterEach(async () => {
      jest.useRealTimers()
      await Promise.all(apps.splice(0).map((app) => app.close()))
      await subject.close()
    })
    const app = async (options?: Parameters<typeof buildApp>[1]) => {
      const instance = await buildApp(subject.store, options)
      apps.push(instance)
      return instance
    }

    test('a views counter goes up for one visitor and starts at 1 for another', async () => {
      const instance = await app()
      const alice = new Browser(instance)
      for (let views = 1; views <= 5; views++) {
        expect((await alice.json('/')).body).toEqual({ views })
      }
      expect((await new Browser(instance).json('/')).body).toEqual({ views: 1 })
      expect((await alice.json('/')).body).toEqual({ views: 6 })
    })

    test('a login holds across requests and a logout ends it', async () => {
      const instance = await app()
      const browser = new Browser(instance)
      expect((await browser.json('/me')).status).toBe(401)
      await browser.json('/login?userId=42')
      expect((await browser.json('/me')).body).toMatchObject({ user: { id: '42' } })
      expect((await browser.json('/logout')).body).toEqual({ ok: true })
      expect((await browser.json('/me')).status).toBe(401)
    })

    test('a nested change (user.roles.push) is saved', async () => {
      const instance = await app()
      const browser = new Browser(instance)
      await browser.json('/login?userId=7')
      await browser.json('/roles?role=admin')
      await browser.json('/roles?role=editor')
      expect((await browser.json('/me')).body).toMatchObject({
        user: { id: '7', roles: ['admin', 'editor'] },
      })
    })

    test('regenerate issues a new id, keeps the kept fields and forgets the old id', async () => {
      const instance = await app()
      const browser = new Browser(instance)
      await browser.json('/login?userId=9')
      const before = browser.cookie
      await browser.json('/regenerate')
      expect(browser.cookie).not.toBe(before)
      expect((await browser.json('/me')).body).toMatchObject({ user: { id: '9' } })
      const old = new Browser(instance)
      old.cookie = before
      expect((await old.json('/me')).status).toBe(401)
    })

    test('saveUninitialized: false stores nothing for a visitor who stores nothing', async () => {
      const instance = await app({ saveUninitialized: false })
      const visitor = new Browser(instance)
      const response = await visitor.get('/me')
      expect(response.statusCode).toBe(401)
      expect(visitor.cookie).toBeUndefined()
      await visitor.json('/login?userId=1')
      expect(visitor.cookie).toBeDefined()
      expect((await visitor.json('/me')).body).toMatchObject({ user: { id: '1' } })
    })

    test('rolling: false keeps the session and does not resend the cookie', async () => {
      const instance = await app({ rolling: false, cookie: { secure: false, maxAge: 60_000 } })
      const browser = new Browser(instance)
      await browser.json('/login?userId=3')
      const response = await browser.get('/me')
      expect(response.json()).toMatchObject({ user: { id: '3' } })
      expect(response.cookies.find((cookie) => cookie.name === 'sessionId')).toBeUndefined()
    })

    test('rolling with maxAge sends a later expiry on every request and keeps the session', async () => {
      const instance = await app({ cookie: { secure: false, maxAge: 60_000 } })
      const browser = new Browser(instance)
      const first = await browser.get('/login?userId=4')
      const expires = (response: typeof first) =>
        response.cookies.find((cookie) => cookie.name === 'sessionId')?.expires?.getTime() ?? 0
      // Expires has a precision of one second: wait until a request now gets the next second.
      expect(await waitFor(() => Date.now() + 60_000 >= expires(first) + 1000)).toBe(true)
      const second = await browser.get('/me')
      expect(expires(second)).toBeGreaterThan(expires(first))
      expect(second.json()).toMatchObject({ user: { id: '4' } })
    })

    // Time passes on a faked clock (Date only), by which @fastify/session and the stores judge
    // expiry: a maxAge passes when the test moves the clock, never before.
    test('a session whose maxAge has passed is not served', async () => {
      const clock = fakeClock()
      const instance = await app({ cookie: { secure: false, maxAge: 300 } })
      const browser = new Browser(instance)
      await browser.json('/login?userId=5')
      expect((await browser.json('/me')).status).toBe(200)
      clock.advance(450)
      expect((await browser.json('/me')).status).toBe(401)
    })

    test('a session kept busy within its maxAge never expires', async () => {
      const clock = fakeClock()
      const instance = await app({ cookie: { secure: false, maxAge: 400 } })
      const browser = new Browser(instance)
      await browser.json('/login?userId=6')
      for (let i = 0; i < 8; i++) {
        clock.advance(100)
        expect((await browser.json('/me')).status).toBe(200)
      }
    })

    test('a browser-session cookie (no maxAge) keeps its session', async () => {
      const instance = await app()
      const browser = new Browser(instance)
      const login = await browser.get('/login?userId=8')
      expect(login.cookies.find((cookie) => cookie.name === 'sessionId')?.expires).toBeUndefined()
      expect((await browser.json('/me')).body).toMatchObject({ user: { id: '8' } })
    })

    test('a cookie with a forged or unknown id gets a fresh session', async () => {
      const instance = await app()
      const browser = new Browser(instance)
      browser.cookie = 'not-a-signed-id'
      expect((await browser.json('/')).body).toEqual({ views: 1 })
      expect((await browser.json('/')).body).toEqual({ views: 2 })
    })

    test('set, get and destroy call back once each, and get after destroy misses', async () => {
      const { store } = subject
      const session = {
        cookie: { originalMaxAge: null, expires: null, path: '/' },
        user: { id: 'x' },
      }
      const calls: string[] = []
      await call<void>((done) =>
        store.set('AbCdEfGhIjKlMnOpQrStUvWxYz012345', session as never, (error) => {
          calls.push('set')
          done(error)
        }),
      )
      const got = await call((done) => store.get('AbCdEfGhIjKlMnOpQrStUvWxYz012345', done))
      expect(got).toMatchObject({ user: { id: 'x' } })
      await call<void>((done) => store.destroy('AbCdEfGhIjKlMnOpQrStUvWxYz012345', done))
      expect(await call((done) => store.get('AbCdEfGhIjKlMnOpQrStUvWxYz012345', done))).toBeFalsy()
      await call<void>((done) => store.destroy('never-existed', done))
      await sleep(10)
      expect(calls).toEqual(['set'])
    })
  })
}

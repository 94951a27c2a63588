import type { Store } from 'express-session'
import {
  Browser,
  call,
  expiresOf,
  fakeClock,
  type RunningApp,
  sleep,
  startApp,
  waitFor,
} from './app'

export interface StoreUnderTest {
  store: Store
  /** Ends timers and removes files. */
  close(): Promise<void>
}

/**
 * Behaviour a session store must have under express-session, through a real Express app and
 * real HTTP. Run against express-session's own MemoryStore, the oracle of drop-in behaviour,
 * and against every FileStore configuration.
 */
export function describeExpressSessionStore(name: string, create: () => StoreUnderTest): void {
  describe(`${name} under express-session`, () => {
    let subject: StoreUnderTest
    const apps: RunningApp[] = []

    beforeEach(() => {
      subject = create()
    })
    afterEach(async () => {
      jest.useRealTimers()
      await Promise.all(apps.splice(0).map((app) => app.close()))
      await subject.close()
    })
    const browser = async (options?: Parameters<typeof startApp>[1]) => {
      const app = await startApp(subject.store, options)
      apps.push(app)
      return new Browser(app.url)
    }
    const stored = () => call<number>((done) => subject.store.length?.(done))

    test('a views counter goes up for one visitor and starts at 1 for another', async () => {
      const alice = await browser()
      for (let views = 1; views <= 5; views++) {
        expect((await alice.get('/')).body).toEqual({ views })
      }
      expect((await new Browser(alice.base).get('/')).body).toEqual({ views: 1 })
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

    test('regenerate issues a new id, keeps what the app copies over and forgets the old id', async () => {
      const visitor = await browser()
      await visitor.get('/login?userId=9')
      const before = visitor.cookie
      await visitor.get('/regenerate')
      expect(visitor.cookie).not.toBe(before)
      expect((await visitor.get('/me')).body).toMatchObject({ user: { id: '9' } })
      const old = new Browser(visitor.base)
      old.cookie = before
      expect((await old.get('/me')).status).toBe(401)
    })

    test('saveUninitialized: false stores nothing for a visitor who stores nothing', async () => {
      const visitor = await browser({ saveUninitialized: false })
      const answer = await visitor.get('/me')
      expect(answer.status).toBe(401)
      expect(answer.setCookie).toBeUndefined()
      expect(await stored()).toBe(0)
      await visitor.get('/login?userId=1')
      expect(visitor.cookie).toBeDefined()
      expect((await visitor.get('/me')).body).toMatchObject({ user: { id: '1' } })
      expect(await stored()).toBe(1)
    })

    test('saveUninitialized: true stores the session of a visitor who stores nothing', async () => {
      const visitor = await browser({ saveUninitialized: true })
      const answer = await visitor.get('/me')
      expect(answer.status).toBe(401)
      expect(answer.setCookie).toBeDefined()
      expect(await stored()).toBe(1)
    })

    test('rolling: false keeps the session and does not resend the cookie', async () => {
      const visitor = await browser({ rolling: false, cookie: { maxAge: 60_000 } })
      await visitor.get('/login?userId=3')
      const answer = await visitor.get('/me')
      expect(answer.body).toMatchObject({ user: { id: '3' } })
      expect(answer.setCookie).toBeUndefined()
    })

    test('rolling with maxAge sends a later expiry on every request and keeps the session', async () => {
      const visitor = await browser({ rolling: true, cookie: { maxAge: 60_000 } })
      const first = expiresOf((await visitor.get('/login?userId=4')).setCookie) ?? 0
      // Expires has a precision of one second: wait until a request now gets the next second.
      expect(await waitFor(() => Date.now() + 60_000 >= first + 1000)).toBe(true)
      const second = await visitor.get('/me')
      expect(expiresOf(second.setCookie)).toBeGreaterThan(first)
      expect(second.body).toMatchObject({ user: { id: '4' } })
    })

    // Time passes on a faked clock (Date only), by which express-session and the stores judge
    // expiry: a maxAge passes when the test moves the clock, never before.
    test('a session whose maxAge has passed is not served', async () => {
      const clock = fakeClock()
      const visitor = await browser({ cookie: { maxAge: 300 } })
      await visitor.get('/login?userId=5')
      expect((await visitor.get('/me')).status).toBe(200)
      clock.advance(450)
      expect((await visitor.get('/me')).status).toBe(401)
    })

    test('a session kept busy within its maxAge never expires', async () => {
      const clock = fakeClock()
      const visitor = await browser({ cookie: { maxAge: 400 } })
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
      const id = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345'
      const session = {
        cookie: { originalMaxAge: null, expires: null, path: '/' },
        user: { id: 'x' },
      }
      const calls: string[] = []
      await call<void>((done) =>
        store.set(id, session as never, (error) => {
          calls.push('set')
          done(error)
        }),
      )
      expect(await call((done) => store.get(id, done))).toMatchObject({ user: { id: 'x' } })
      await call<void>((done) => store.destroy(id, done))
      expect(await call((done) => store.get(id, done))).toBeFalsy()
      await call<void>((done) => store.destroy('never-existed', done))
      await sleep(10)
      expect(calls).toEqual(['set'])
    })
  })
}

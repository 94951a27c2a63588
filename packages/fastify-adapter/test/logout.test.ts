/**
 * A logout is never undone: a request that was in flight when the session was destroyed, on this
 * process or another, saves it afterwards, and the session must stay destroyed. The in-flight
 * window is held open by the `/hold` route until the test releases it, so nothing here is timed.
 */
import fs from 'node:fs'
import path from 'node:path'
import { call, expiryToMtime, waitFor } from '@json-file-repository/test-helpers'
import type { FastifyInstance } from 'fastify'
import { FileStore } from 'fastify-file-session-store'
import { Browser, buildApp, gate, temporaryDirectory } from './app'
import { HttpBrowser, startServer } from './http'

const MAX_AGE = 3_600_000
/** How far the stored expiry lags the cookie's: more than the default `touchAfter`. */
const LAG = 90_000

let directory: string
beforeEach(() => {
  directory = temporaryDirectory('logout')
})
afterEach(() => fs.rmSync(directory, { recursive: true, force: true }))

/** The id in a session cookie (`sessionId=<id>.<signature>`, or just `<id>.<signature>`). */
function idOf(cookie: string | undefined): string {
  return decodeURIComponent((cookie ?? '').replace(/^sessionId=/, '')).split('.')[0] as string
}

/** Makes the stored expiry of a session lag its cookie's by {@link LAG}, as after skipped touches. */
function lagExpiry(id: string): void {
  const mtime = expiryToMtime(Date.now() + MAX_AGE - LAG)
  fs.utimesSync(path.join(directory, `${id}.json`), mtime, mtime)
}

/** The variants of the race: what the stale request does, and the store's `touchAfter`. */
const VARIANTS = [
  { name: 'touchAfter 0', options: { touchAfter: 0 }, lag: false },
  { name: 'default touchAfter, stored expiry lagging by 90 s', options: {}, lag: true },
] as const

describe('one process', () => {
  let app: FastifyInstance
  let store: FileStore
  const debug: { object: object; message: string | undefined }[] = []

  afterEach(async () => {
    await app.close()
    await store.close()
    debug.length = 0
  })

  test.each(VARIANTS)(
    'a request in flight during a logout does not bring the session back ($name)',
    async ({ options, lag }) => {
      const logger = {
        warn: () => {},
        error: () => {},
        debug: (object: object, message?: string) => debug.push({ object, message }),
      }
      store = new FileStore({ directory, fsync: false, logger, ...options })
      app = await buildApp(store, { cookie: { secure: false, maxAge: MAX_AGE } })
      const ids: string[] = []
      for (let round = 0; round < 50; round++) {
        const browser = new Browser(app)
        expect((await browser.json(`/login?userId=${round}`)).status).toBe(200)
        const id = idOf(browser.cookie)
        ids.push(id)
        if (lag) lagExpiry(id)
        const held = browser.get(round % 2 === 0 ? '/hold?change=1' : '/hold')
        expect(await waitFor(() => gate.waiting === 1, 30_000)).toBe(true)
        await browser.json('/logout')
        gate.release()
        expect((await held).statusCode).toBe(200)
        expect(fs.existsSync(path.join(directory, `${id}.json`))).toBe(false)
        expect((await browser.json('/me')).status).toBe(401)
      }
      // Every dropped save is logged at debug by a fingerprint, never by the id.
      expect(debug.length).toBe(50)
      const logged = JSON.stringify(debug)
      for (const id of ids) expect(logged).not.toContain(id)
      expect(debug[0]).toEqual({
        object: { session: expect.stringMatching(/^#[0-9a-f]{8}$/) },
        message: 'save of a destroyed session dropped',
      })
    },
    60_000,
  )

  test('new sessions, and the one regenerate makes, are still created and saved', async () => {
    store = new FileStore({ directory, fsync: false, touchAfter: 0 })
    app = await buildApp(store)
    const browser = new Browser(app)
    expect((await browser.json('/')).body).toEqual({ views: 1 })
    expect((await browser.json('/')).body).toEqual({ views: 2 })
    await browser.json('/login?userId=3')
    const before = idOf(browser.cookie)
    await browser.json('/regenerate')
    expect(idOf(browser.cookie)).not.toBe(before)
    expect((await browser.json('/me')).body).toEqual({ user: { id: '3', roles: [] }, views: 0 })
    expect(fs.readdirSync(directory)).toEqual([`${idOf(browser.cookie)}.json`])
  })
})

test('no flood of other sessions loaded or destroyed meanwhile makes the store forget a logout', async () => {
  const store = new FileStore({ directory, fsync: false })
  const session = { cookie: { originalMaxAge: MAX_AGE, expires: new Date(Date.now() + MAX_AGE) } }
  try {
    await call((done) =>
      store.set('logged-out', { ...session, user: { id: 'ada', roles: [] } }, done),
    )
    expect(await call((done) => store.get('logged-out', done))).toMatchObject({
      user: { id: 'ada' },
    })
    await call((done) => store.destroy('logged-out', done))
    // 150,000 other ids destroyed in this process (ids no file can have: no I/O for them).
    for (let i = 0; i < 150_000; i++) await call((done) => store.destroy(`\uD800${i}`, done))
    // The save of a request that was in flight during the logout comes now: it is dropped.
    await call((done) =>
      store.set('logged-out', { ...session, user: { id: 'ada', roles: [] }, views: 2 }, done),
    )
    expect(fs.readdirSync(directory)).toEqual([])
  } finally {
    await store.close()
  }
}, 120_000)

describe('three server processes on one directory', () => {
  test.each(VARIANTS)(
    'a logout on one while requests with the same cookie are in flight on all holds, 100 rounds ($name)',
    async ({ options, lag }) => {
      const servers = await Promise.all([0, 1, 2].map(() => startServer(directory, options)))
      try {
        const urls = servers.map((server) => server.url)
        const held = async (url: string) =>
          (await new HttpBrowser().json(url, '/held')).body.waiting as number
        const resurrected: number[] = []
        for (let round = 0; round < 100; round++) {
          // Each round logs in and out on another server; the others hold requests in flight.
          const [home, ...others] = [
            ...urls.slice(round % 3),
            ...urls.slice(0, round % 3),
          ] as string[]
          const browser = new HttpBrowser()
          await browser.json(home as string, `/login?userId=${round}`)
          const id = idOf(browser.cookie)
          if (lag) lagExpiry(id)
          // In flight on every server, this one included: changing the session and not.
          const inFlight = urls.map((url, i) => {
            const copy = new HttpBrowser()
            copy.cookie = browser.cookie
            return copy.json(url, (round + i) % 2 === 0 ? '/hold?change=1' : '/hold')
          })
          for (const url of urls) {
            const deadline = Date.now() + 30_000
            while ((await held(url)) !== 1) expect(Date.now()).toBeLessThan(deadline)
          }
          await browser.json(home as string, '/logout')
          await Promise.all(urls.map((url) => new HttpBrowser().json(url, '/release')))
          for (const response of await Promise.all(inFlight)) expect(response.status).toBe(200)
          const me = await browser.json(others[round % 2] as string, '/me')
          if (fs.existsSync(path.join(directory, `${id}.json`)) || me.status !== 401) {
            resurrected.push(round)
          }
        }
        expect(resurrected).toEqual([])
        // New sessions are still created: one made on a server is seen by the others.
        const browser = new HttpBrowser()
        await browser.json(urls[0] as string, '/login?userId=new')
        expect((await browser.json(urls[1] as string, '/me')).body).toEqual({
          user: { id: 'new' },
          views: 0,
        })
        expect((await browser.json(urls[2] as string, '/')).body).toMatchObject({ views: 1 })
      } finally {
        for (const server of servers) server.process.kill()
      }
    },
    120_000,
  )
})

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import fastifyCookie from '@fastify/cookie'
import fastifySession, { type FastifySessionOptions, type SessionStore } from '@fastify/session'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'

declare module 'fastify' {
  interface Session {
    views?: number
    user?: { id: string; roles: string[] }
  }
}

export const SECRET = 'a secret with at least thirty-two characters'

/** A real Fastify app with @fastify/cookie and @fastify/session on `store`. */
export async function buildApp(
  store: SessionStore,
  options: Partial<FastifySessionOptions> = {},
): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SECRET,
    cookie: { secure: false },
    store,
    ...options,
  })
  app.get('/', async (request) => {
    request.session.views = (request.session.views ?? 0) + 1
    return { views: request.session.views }
  })
  app.get<{ Querystring: { userId?: string } }>('/login', async (request) => {
    request.session.user = { id: request.query.userId ?? 'guest', roles: [] }
    return { user: request.session.user }
  })
  app.get('/me', async (request, reply) => {
    if (!request.session.user) return reply.code(401).send({ error: 'Not authenticated' })
    return { user: request.session.user, views: request.session.views ?? 0 }
  })
  app.get<{ Querystring: { role: string } }>('/roles', async (request, reply) => {
    if (!request.session.user) return reply.code(401).send({ error: 'Not authenticated' })
    request.session.user.roles.push(request.query.role)
    return { user: request.session.user }
  })
  app.get('/logout', async (request) => {
    await request.session.destroy()
    return { ok: true }
  })
  app.get('/regenerate', async (request) => {
    await request.session.regenerate(['user'])
    return { sessionId: request.session.sessionId }
  })
  await app.ready()
  return app
}

/** A browser for `app.inject`: keeps the session cookie between requests. */
export class Browser {
  cookie: string | undefined
  constructor(private readonly app: FastifyInstance) {}

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({
      url,
      headers: this.cookie === undefined ? {} : { cookie: `sessionId=${this.cookie}` },
    })
    const set = response.cookies.find((cookie) => cookie.name === 'sessionId')
    if (set) this.cookie = set.value
    return response
  }

  async json(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await this.get(url)
    return { status: response.statusCode, body: response.json() }
  }
}

export function temporaryDirectory(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`))
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `condition` every 10 ms until it holds or `timeout` ms have passed; resolves to its last
 * result. The deadline is only reached when something is wrong, so it is generous: a loaded
 * machine must never reach it. It runs on the monotonic clock, which `fakeClock` leaves alone.
 */
export async function waitFor(condition: () => boolean, timeout = 30_000): Promise<boolean> {
  const deadline = performance.now() + timeout
  while (!condition()) {
    if (performance.now() > deadline) return false
    await sleep(10)
  }
  return true
}

/**
 * Fakes the clock (`Date`) and nothing else: timers, ticks and I/O run for real. The clock stands
 * still until the test moves it, so an expiry passes exactly when the test says, never before
 * however slow the machine: the store, which keeps expiries in its files' times, and
 * @fastify/session both judge them by `Date.now()`. Undo with `jest.useRealTimers()`.
 */
export function fakeClock(): { set(time: number): void; advance(ms: number): void } {
  jest.useFakeTimers({
    now: Date.now(),
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  })
  return {
    set: (time) => jest.setSystemTime(time),
    advance: (ms) => jest.setSystemTime(Date.now() + ms),
  }
}

/** Calls a callback-style store method and resolves with what it called back. */
export function call<T>(method: (callback: (error: unknown, value?: T) => void) => void) {
  return new Promise<T | undefined>((resolve, reject) => {
    method((error, value) => (error ? reject(error) : resolve(value)))
  })
}

import type { AddressInfo } from 'node:net'
import type { Answer, SessionFramework } from '@json-file-repository/test-helpers'
import express from 'express'
import session, { type SessionOptions, type Store } from 'express-session'

declare module 'express-session' {
  interface SessionData {
    views?: number
    user?: { id: string; roles: string[] }
  }
}

export const SECRET = 'a secret with at least thirty-two characters'

export interface RunningApp {
  url: string
  close(): Promise<void>
}

/**
 * A real Express app with express-session on `store`, listening on a port of its own: the
 * routes of the Fastify tests' app (packages/fastify-adapter/test/app.ts).
 */
export async function startApp(
  store: Store,
  options: Partial<SessionOptions> = {},
): Promise<RunningApp> {
  const app = express()
  app.use(
    session({
      name: 'sessionId',
      secret: SECRET,
      resave: false,
      saveUninitialized: true,
      store,
      ...options,
    }),
  )
  app.get('/', (request, response) => {
    request.session.views = (request.session.views ?? 0) + 1
    response.json({ views: request.session.views })
  })
  app.get('/login', (request, response) => {
    const id = typeof request.query.userId === 'string' ? request.query.userId : 'guest'
    request.session.user = { id, roles: [] }
    response.json({ user: request.session.user })
  })
  app.get('/me', (request, response) => {
    if (!request.session.user) {
      response.status(401).json({ error: 'Not authenticated' })
      return
    }
    response.json({ user: request.session.user, views: request.session.views ?? 0 })
  })
  app.get('/roles', (request, response) => {
    request.session.user?.roles.push(String(request.query.role))
    response.json({ user: request.session.user })
  })
  app.get('/logout', (request, response, next) => {
    request.session.destroy((error) => (error ? next(error) : response.json({ ok: true })))
  })
  app.get('/regenerate', (request, response, next) => {
    const { user } = request.session
    request.session.regenerate((error) => {
      if (error) return next(error)
      request.session.user = user
      response.json({ ok: true })
    })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A real HTTP client that keeps the session cookie, like a browser. */
export class Browser {
  cookie: string | undefined
  constructor(readonly base: string) {}

  async get(url: string): Promise<Answer> {
    const response = await fetch(this.base + url, {
      headers: this.cookie === undefined ? {} : { cookie: `sessionId=${this.cookie}` },
    })
    const setCookie = response.headers
      .getSetCookie()
      .find((header) => header.startsWith('sessionId='))
    if (setCookie) this.cookie = (setCookie.split(';', 1)[0] as string).slice('sessionId='.length)
    return { status: response.status, body: (await response.json()) as never, setCookie }
  }
}

/** The session contract's apps (see `describeSessionStore`): {@link startApp}'s, over HTTP. */
export const expressSessions: SessionFramework<Store> = {
  name: 'express-session',
  async start(store, { saveUninitialized, rolling, maxAge }) {
    const app = await startApp(store, {
      ...(saveUninitialized === undefined ? {} : { saveUninitialized }),
      ...(rolling === undefined ? {} : { rolling }),
      ...(maxAge === undefined ? {} : { cookie: { maxAge } }),
    })
    return { visitor: () => new Browser(app.url), close: () => app.close() }
  },
}

export {
  call,
  expiresOf,
  fakeClock,
  makeTempDirectory,
  removeDirectory,
  sleep,
  stopper,
  waitFor,
} from '@json-file-repository/test-helpers'

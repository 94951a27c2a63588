import fastifyCookie from '@fastify/cookie'
import fastifySession, { type FastifySessionOptions, type SessionStore } from '@fastify/session'
import type { Answer, SessionFramework, Visitor } from '@json-file-repository/test-helpers'
import Fastify, {
  type FastifyHttpOptions,
  type FastifyInstance,
  type LightMyRequestResponse,
} from 'fastify'

declare module 'fastify' {
  interface Session {
    views?: number
    user?: { id: string; roles: string[] }
  }
}

export const SECRET = 'a secret with at least thirty-two characters'

/** Holds the requests to `/hold` until {@link Gate.release}: a test decides when they save. */
export class Gate {
  waiting = 0
  #open: () => void = () => {}
  #opened = this.#next()

  wait(): Promise<void> {
    this.waiting++
    return this.#opened
  }

  release(): void {
    const open = this.#open
    this.waiting = 0
    this.#opened = this.#next()
    open()
  }

  #next(): Promise<void> {
    return new Promise((resolve) => {
      this.#open = resolve
    })
  }
}

/** The gate of the `/hold` route of the apps {@link buildApp} makes. */
export const gate = new Gate()

/** A real Fastify app with @fastify/cookie and @fastify/session on `store`. */
export async function buildApp(
  store: SessionStore,
  options: Partial<FastifySessionOptions> = {},
  fastifyOptions: FastifyHttpOptions<never> = {},
): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions) as unknown as FastifyInstance
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
  // What app code may do with a session's user: copy it (a poisoned prototype would come along).
  app.get('/is-admin', async (request) => {
    const user = Object.assign({}, request.session.user) as { isAdmin?: boolean }
    return { isAdmin: user.isAdmin === true }
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
  // A request in flight: its session is loaded, it waits for the gate, then adds a view if asked.
  app.get<{ Querystring: { change?: string } }>('/hold', async (request) => {
    await gate.wait()
    if (request.query.change) request.session.views = (request.session.views ?? 0) + 1
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

/** The session contract's visitor (see `describeSessionStore`) on a {@link Browser}. */
class InjectVisitor implements Visitor {
  readonly #browser: Browser
  constructor(app: FastifyInstance) {
    this.#browser = new Browser(app)
  }
  get cookie() {
    return this.#browser.cookie
  }
  set cookie(cookie: string | undefined) {
    this.#browser.cookie = cookie
  }

  async get(url: string): Promise<Answer> {
    const response = await this.#browser.get(url)
    const headers = [response.headers['set-cookie'] ?? []].flat()
    const setCookie = headers.find((header) => header.startsWith('sessionId='))
    return { status: response.statusCode, body: response.json(), setCookie }
  }
}

/** The session contract's apps: {@link buildApp}'s, through `app.inject`. */
export const fastifySessions: SessionFramework<SessionStore> = {
  name: '@fastify/session',
  async start(store, { saveUninitialized, rolling, maxAge }) {
    const app = await buildApp(store, {
      ...(saveUninitialized === undefined ? {} : { saveUninitialized }),
      ...(rolling === undefined ? {} : { rolling }),
      ...(maxAge === undefined ? {} : { cookie: { secure: false, maxAge } }),
    })
    return { visitor: () => new InjectVisitor(app), close: () => app.close() }
  },
}

// The temp directories, waits, faked clock and callback bridge every package's tests share.
export {
  call,
  fakeClock,
  makeTempDirectory as temporaryDirectory,
  sleep,
  waitFor,
} from '@json-file-repository/test-helpers'

/**
 * The HTTP app of the end-to-end case, one process per store: Fastify 5, @fastify/cookie and
 * @fastify/session with its defaults (rolling, saveUninitialized), `cookie.maxAge` one day; for
 * an express-session store, the same routes on Express 5 and express-session (rolling,
 * saveUninitialized, `resave: false`, the same cookie). Driven over IPC by http.ts: it answers
 * `ready`, then `cpu` and `close` messages.
 */
import type { AddressInfo } from 'node:net'
import fastifyCookie from '@fastify/cookie'
import fastifySession, { type SessionStore } from '@fastify/session'
import express from 'express'
import expressSession, { type Store as ExpressStore } from 'express-session'
import Fastify from 'fastify'
import { countViews } from './store-cases'
import { type BenchStore, openStore, type StoreSpec } from './stores'

type User = { id: number; name: string; email: string; roles: string[] }
declare module 'fastify' {
  interface Session {
    user?: User
    views?: number
  }
}
declare module 'express-session' {
  interface SessionData {
    user?: User
    views?: number
  }
}

/** A running app: its port, what it served, and how to stop it. */
interface App {
  port: number
  /** Responses to /views sent after the session was saved. */
  viewsServed(): number
  close(): Promise<void>
}

export type ServerMessage =
  | { type: 'ready'; port: number }
  | { type: 'cpu'; micros: number }
  | { type: 'closed'; viewsServed: number; sum: number; missing: number }
  | { type: 'failed'; error: string }

export type ServerCommand = { type: 'cpu' } | { type: 'close'; ids: string[] }

const SECRET = 'a secret of the bench, at least 32 characters long'

async function main(spec: StoreSpec): Promise<void> {
  const store = await openStore(spec)
  const app = store.express ? await expressApp(store.express) : await fastifyApp(store)
  process.on('message', (command: ServerCommand) => {
    if (command.type === 'cpu') {
      const { user, system } = process.cpuUsage()
      send({ type: 'cpu', micros: user + system + (store.serverCpu?.() ?? 0) })
    } else if (command.type === 'close') {
      close(app, store, command.ids).then(
        ({ sum, missing }) =>
          send({ type: 'closed', viewsServed: app.viewsServed(), sum, missing }, true),
        (error: unknown) => send({ type: 'failed', error: String(error) }, true),
      )
    }
  })
  send({ type: 'ready', port: app.port })
}

/** The user a login stores. */
function user(query: unknown): User {
  const id = Number((query as { user?: string }).user ?? 0)
  return { id, name: `User ${id}`, email: `user${id}@example.com`, roles: ['reader', 'commenter'] }
}

async function fastifyApp(store: BenchStore): Promise<App> {
  const app = Fastify({ logger: false })
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SECRET,
    store: store as unknown as SessionStore,
    cookie: { secure: false, maxAge: 86_400_000 },
  })
  let viewsServed = 0
  // /views requests begun and not yet past their save. When autocannon stops, it drops its
  // connections, but a request already read still runs and saves its session: the views are
  // counted only once every such request is done, or the count races the last saves.
  let inFlight = 0
  let drained: (() => void) | undefined
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.routeOptions.url === '/views') inFlight++
    done()
  })
  // Runs after @fastify/session's own onSend hook: the session of this response is saved.
  app.addHook('onSend', (request, reply, _payload, done) => {
    if (request.routeOptions.url === '/views') {
      if (reply.statusCode === 200) viewsServed++
      if (--inFlight === 0) drained?.()
    }
    done()
  })

  app.get('/login', async (request) => {
    request.session.user = user(request.query)
    request.session.views = 0
    return { sid: request.session.sessionId }
  })
  // Read-mostly: the commonest request reads the session and changes nothing in it.
  app.get('/read', async (request, reply) => {
    const user = request.session.user
    if (!user) return reply.code(401).send({ error: 'not logged in' })
    return { name: user.name }
  })
  // A change on every request.
  app.get('/views', async (request, reply) => {
    if (!request.session.user) return reply.code(401).send({ error: 'not logged in' })
    request.session.views = (request.session.views ?? 0) + 1
    return { views: request.session.views }
  })

  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const close = async () => {
    await app.close()
    // A generous deadline: a request that never reaches onSend must not hang the bench.
    if (inFlight > 0) {
      await new Promise<void>((resolve) => {
        drained = resolve
        setTimeout(resolve, 30_000).unref()
      })
    }
  }
  return { port, viewsServed: () => viewsServed, close }
}

async function expressApp(store: ExpressStore): Promise<App> {
  const app = express()
  let viewsServed = 0
  // Counts a /views response when express-session, having saved its session, ends it: this
  // runs before the session middleware, whose own `end` calls this one after the save.
  app.use((request, response, next) => {
    const end = response.end
    response.end = function (this: typeof response, ...args: Parameters<typeof end>) {
      if (request.path === '/views' && response.statusCode === 200) viewsServed++
      return end.apply(this, args)
    } as typeof end
    next()
  })
  app.use(
    expressSession({
      secret: SECRET,
      store,
      rolling: true,
      saveUninitialized: true,
      resave: false,
      cookie: { secure: false, maxAge: 86_400_000 },
    }),
  )
  app.get('/login', (request, response) => {
    request.session.user = user(request.query)
    request.session.views = 0
    response.json({ sid: request.sessionID })
  })
  app.get('/read', (request, response) => {
    const current = request.session.user
    if (!current) response.status(401).json({ error: 'not logged in' })
    else response.json({ name: current.name })
  })
  app.get('/views', (request, response) => {
    if (!request.session.user) {
      response.status(401).json({ error: 'not logged in' })
      return
    }
    request.session.views = (request.session.views ?? 0) + 1
    response.json({ views: request.session.views })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { port, viewsServed: () => viewsServed, close }
}

async function close(app: App, store: BenchStore, ids: string[]) {
  await app.close()
  const result = await countViews(store, ids)
  await store.close()
  return result
}

function send(message: ServerMessage, exit = false): void {
  process.send?.(message, () => {
    if (exit) process.exit(0)
  })
}

main(JSON.parse(process.argv[2] ?? '{}') as StoreSpec).catch((error: unknown) => {
  send(
    {
      type: 'failed',
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    },
    true,
  )
})

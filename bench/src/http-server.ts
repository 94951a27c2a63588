/**
 * The HTTP app of the end-to-end case, one process per store: Fastify 5, @fastify/cookie and
 * @fastify/session with its defaults (rolling, saveUninitialized), `cookie.maxAge` one day.
 * Driven over IPC by http.ts: it answers `ready`, then `cpu` and `close` messages.
 */
import fastifyCookie from '@fastify/cookie'
import fastifySession, { type SessionStore } from '@fastify/session'
import Fastify from 'fastify'
import { countViews } from './store-cases'
import { type BenchStore, openStore, type StoreSpec } from './stores'

declare module 'fastify' {
  interface Session {
    user?: { id: number; name: string; email: string; roles: string[] }
    views?: number
  }
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
  const app = Fastify({ logger: false })
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SECRET,
    store: store as unknown as SessionStore,
    cookie: { secure: false, maxAge: 86_400_000 },
  })
  let viewsServed = 0
  // Runs after @fastify/session's own onSend hook: the session of this response is saved.
  app.addHook('onSend', (request, reply, _payload, done) => {
    if (request.routeOptions.url === '/views' && reply.statusCode === 200) viewsServed++
    done()
  })

  app.get<{ Querystring: { user?: string } }>('/login', async (request) => {
    const id = Number(request.query.user ?? 0)
    request.session.user = {
      id,
      name: `User ${id}`,
      email: `user${id}@example.com`,
      roles: ['reader', 'commenter'],
    }
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
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  process.on('message', (command: ServerCommand) => {
    if (command.type === 'cpu') {
      const { user, system } = process.cpuUsage()
      send({ type: 'cpu', micros: user + system + (store.serverCpu?.() ?? 0) })
    } else if (command.type === 'close') {
      close(app, store, command.ids).then(
        ({ sum, missing }) => send({ type: 'closed', viewsServed, sum, missing }, true),
        (error: unknown) => send({ type: 'failed', error: String(error) }, true),
      )
    }
  })
  send({ type: 'ready', port })
}

async function close(app: ReturnType<typeof Fastify>, store: BenchStore, ids: string[]) {
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

// The complete example of @itrocks/fastify-file-session-store's README, on
// fastify-file-session-store: the import changed, @fastify/cookie registered (which
// @fastify/session requires), the query typed, and a views counter on `/`.
import { join, normalize } from 'node:path'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import Fastify from 'fastify'
import { FileStore } from 'fastify-file-session-store'

declare module 'fastify' {
  interface Session {
    views?: number
    user?: { id: string }
  }
}

const app = Fastify({ logger: true })

// Absolute path to the sessions directory, in a data folder beside the app
const sessionDir = process.env.SESSION_DIR ?? normalize(join(__dirname, '../data/sessions'))

app.register(fastifyCookie)
app.register(fastifySession, {
  secret: process.env.SESSION_SECRET ?? 'change-me-in-production-to-32-characters-at-least',
  cookie: {
    path: '/',
    httpOnly: true,
    secure: process.env.NODE_ENV === 'production',
    sameSite: 'lax',
  },
  // Anonymous visitors get a session (and a file) only once something is stored in it.
  saveUninitialized: false,
  store: new FileStore({ directory: sessionDir, logger: app.log }),
})

app.get('/', async (request) => {
  request.session.views = (request.session.views ?? 0) + 1
  return { views: request.session.views }
})

app.get<{ Querystring: { userId?: string } }>('/login', async (request) => {
  const userId = request.query.userId ?? 'guest'
  request.session.user = { id: userId }
  return { ok: true, user: request.session.user }
})

app.get('/me', async (request, reply) => {
  if (!request.session.user) {
    reply.code(401)
    return { error: 'Not authenticated' }
  }
  return { user: request.session.user }
})

app.get('/logout', async (request) => {
  // Destroy the session in the store and in the cookie
  await request.session.destroy()
  return { ok: true }
})

const port = Number(process.env.PORT ?? 3000)
app
  .listen({ host: process.env.HOST ?? '127.0.0.1', port })
  .then((address) => {
    console.log(`Demo listening on ${address}`)
    console.log(
      `Try: curl -c cookies.txt -b cookies.txt ${address}/  (twice), then ls ${sessionDir}`,
    )
  })
  .catch((error) => {
    app.log.error(error, 'Cannot start server')
    process.exit(1)
  })

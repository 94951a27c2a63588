// The Fastify demo's routes (examples/demo) on Express, express-session and
// express-file-session-store: `/` counts views, `/login?userId=`, `/me`, `/logout`.
import { join, normalize } from 'node:path'
import express from 'express'
import { FileStore } from 'express-file-session-store'
import session from 'express-session'

declare module 'express-session' {
  interface SessionData {
    views?: number
    user?: { id: string }
  }
}

const app = express()

// Absolute path to the sessions directory, in a data folder beside the app
const sessionDir = process.env.SESSION_DIR ?? normalize(join(__dirname, '../data/sessions'))

app.use(
  session({
    name: 'sessionId',
    secret: process.env.SESSION_SECRET ?? 'change-me-in-production-to-32-characters-at-least',
    cookie: {
      path: '/',
      httpOnly: true,
      secure: process.env.NODE_ENV === 'production',
      sameSite: 'lax',
    },
    // The store moves a session's expiry with `touch`: nothing to save when nothing changed.
    resave: false,
    // Anonymous visitors get a session (and a file) only once something is stored in it.
    saveUninitialized: false,
    store: new FileStore({ directory: sessionDir, logger: console }),
  }),
)

app.get('/', (request, response) => {
  request.session.views = (request.session.views ?? 0) + 1
  response.json({ views: request.session.views })
})

app.get('/login', (request, response) => {
  const userId = typeof request.query.userId === 'string' ? request.query.userId : 'guest'
  request.session.user = { id: userId }
  response.json({ ok: true, user: request.session.user })
})

app.get('/me', (request, response) => {
  if (!request.session.user) {
    response.status(401).json({ error: 'Not authenticated' })
    return
  }
  response.json({ user: request.session.user })
})

app.get('/logout', (request, response, next) => {
  // Destroy the session in the store; express-session forgets the cookie's id
  request.session.destroy((error) => (error ? next(error) : response.json({ ok: true })))
})

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address()
  const url = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : ''
  console.log(`Demo listening on ${url}`)
  console.log(`Try: curl -c cookies.txt -b cookies.txt ${url}/  (twice), then ls ${sessionDir}`)
})

/**
 * Session ids and session objects shaped like the ones @fastify/session hands to a store: the
 * user's data beside a `cookie` whose JSON has the fields and key order of its `Cookie.toJSON()`.
 */
import { createHash } from 'node:crypto'

export const DAY = 86_400_000

export interface BenchCookie {
  expires: Date | string | null
  originalMaxAge: number | null
  /** @fastify/session copies the previously stored `expires` here when it restores a session. */
  originalExpires?: Date | string
  sameSite: null
  secure: boolean
  path: string
  httpOnly: boolean
  domain: null
}

export interface BenchSession {
  cookie: BenchCookie
  user: { id: number; name: string; email: string; roles: string[] }
  views: number
}

/** A 32-character base64url id, like @fastify/session's default ones, the same in every process. */
export function sessionId(index: number, seed = 'bench'): string {
  return createHash('sha256').update(`${seed}:${index}`).digest('base64url').slice(0, 32)
}

/** What @fastify/session saves for a visitor who has just logged in, with `maxAge` one day. */
export function newSession(index: number, now = Date.now()): BenchSession {
  return {
    cookie: {
      expires: new Date(now + DAY),
      originalMaxAge: DAY,
      sameSite: null,
      secure: false,
      path: '/',
      httpOnly: true,
      domain: null,
    },
    user: {
      id: index,
      name: `User ${index}`,
      email: `user${index}@example.com`,
      roles: ['reader', 'commenter'],
    },
    views: 0,
  }
}

/** The same session on its next request: only `cookie.expires` (and `originalExpires`) moved. */
export function rolled(session: BenchSession, now = Date.now()): BenchSession {
  return {
    ...session,
    cookie: {
      ...session.cookie,
      expires: new Date(now + DAY),
      originalExpires: session.cookie.expires ?? undefined,
    },
  }
}

/** The next request that changes the session's data too (a views counter). */
export function updated(session: BenchSession, now = Date.now()): BenchSession {
  return { ...rolled(session, now), views: session.views + 1 }
}

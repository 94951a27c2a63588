/**
 * Sessions of @fastify/session as files: how fastify-file-session-store stores one (its JSON
 * without `cookie.expires`, which moves on every rolling request, the expiry kept as the file's
 * instead), and how @itrocks/fastify-file-session-store 0.3 stored one (the whole session JSON
 * in a file named `<id>`), read through the `legacyFiles` option. Here rather than in the
 * adapter so that the command line reads those files too.
 */
import type { LegacyFormat } from './types'

/** What is stored of a session: its JSON, with no `cookie.expires` unless it is `null`. */
export type SessionRecord = Record<string, unknown> & { cookie?: Record<string, unknown> }

/**
 * The record to store for `session`, whose cookie as JSON is `cookie`, and its expiry: the
 * cookie's `expires` (with `originalExpires`, which @fastify/session derives from it, left out
 * of the record), else `fallbackExpiry` (and then `expires: null`).
 */
export function toSessionRecord(
  session: Record<string, unknown>,
  cookie: unknown,
  fallbackExpiry: number,
): { record: SessionRecord; expiresAt: number } {
  if (!isObject(cookie)) return { record: session, expiresAt: fallbackExpiry }
  const { expires, originalExpires: _, ...rest } = cookie
  const expiresAt = expires == null ? Number.NaN : new Date(expires as string | Date).getTime()
  if (Number.isFinite(expiresAt)) return { record: { ...session, cookie: rest }, expiresAt }
  return { record: { ...session, cookie: { ...rest, expires: null } }, expiresAt: fallbackExpiry }
}

/**
 * The files of @itrocks/fastify-file-session-store 0.3: a session expires when its
 * `cookie.expires` says, or, without one, `ttl` ms after the file was last written. A file whose
 * JSON is not an object holds no session.
 */
export function legacySessions(ttl: number): LegacyFormat {
  return {
    convert(value, writtenAt) {
      if (!isObject(value)) return undefined
      const { record, expiresAt } = toSessionRecord(value, value.cookie, writtenAt + ttl)
      return { value: record, expiresAt }
    },
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The one mapping between a session (of @fastify/session, express-session and the like: JSON
 * with a `cookie` whose `expires` says when it ends) and what is stored of it, shared by every
 * session adapter, the Redis export and the command line:
 * - {@link toSessionRecord}: the record stored, the session's JSON without `cookie.expires`
 *   (which moves on every rolling request), its expiry kept as the file's instead;
 * - {@link recordToSession}: the session back from a stored entry.
 * The sessions of earlier stores are earlier-stores.ts's.
 */
import type { RepositoryEntry } from './types'

/** What is stored of a session: its JSON, with no `cookie.expires` unless it is `null`. */
export type SessionRecord = Record<string, unknown> & { cookie?: Record<string, unknown> }

/** Own keys that would replace the prototype of the object a session store copies into. */
const UNSAFE_KEYS = ['__proto__', 'constructor', 'prototype']

/**
 * The record to store for `session`, whose cookie as JSON is `cookie`, and its expiry: the
 * cookie's `expires` (with `originalExpires`, which @fastify/session derives from it, left out
 * of the record; `_expires`, the field of express-session's Cookie object when it is copied
 * rather than turned into JSON, stands for `expires`), else `fallbackExpiry` (and then
 * `expires: null`).
 * @throws Never (an `expires` that is no date counts as none).
 */
export function toSessionRecord(
  session: Record<string, unknown>,
  cookie: unknown,
  fallbackExpiry: number,
): { record: SessionRecord; expiresAt: number } {
  if (!isObject(cookie)) return { record: session, expiresAt: fallbackExpiry }
  const { expires = cookie._expires, originalExpires: _, _expires: __, ...rest } = cookie
  const expiresAt = expires == null ? Number.NaN : new Date(expires as string | Date).getTime()
  if (Number.isFinite(expiresAt)) return { record: { ...session, cookie: rest }, expiresAt }
  return { record: { ...session, cookie: { ...rest, expires: null } }, expiresAt: fallbackExpiry }
}

/**
 * The session a stored entry stands for, as a session store gives it to its framework and as
 * any other store keeps it: the file's expiry back in `cookie.expires`. `null` when the entry
 * holds no session object. Changes and returns `entry.value`.
 * @throws Never.
 */
export function recordToSession(
  entry: Pick<RepositoryEntry<unknown>, 'value' | 'expiresAt'>,
): SessionRecord | null {
  const record = entry.value
  if (!isObject(record)) return null
  for (const key of UNSAFE_KEYS) delete record[key]
  // The expiry on the file is the one that counts: after a skipped or lost touch it can lag
  // the cookie's, and the framework must judge the session by what is stored.
  const cookie = record.cookie
  if (isObject(cookie) && !('expires' in cookie) && entry.expiresAt !== undefined) {
    cookie.expires = new Date(entry.expiresAt).toISOString()
  }
  return record as SessionRecord
}

/** Whether `value` is a JSON object (not `null`, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

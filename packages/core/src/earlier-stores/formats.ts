/**
 * The earlier stores' files: their names, and how their JSON turns into an entry (the formats
 * the `legacyFiles` option takes). How they are converted is earlier-files.ts's.
 */
import { keyToFileName } from '../keys'
import { isObject, toSessionRecord } from '../sessions'
import type { LegacyFormat } from '../types'

/**
 * The files of @itrocks/fastify-file-session-store 0.3: a session expires when its
 * `cookie.expires` says, or, without one, `ttl` ms after the file was last written. A file whose
 * JSON is not an object holds no session.
 * @throws Never.
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

/**
 * The files of session-file-store 1 (`<id>.json`, converted in place): a session expires as that
 * store decided, `originalMaxAge` (else `ttl`) ms after its `__lastAccess` (which is left out of
 * the record); a file without one by its cookie's `expires`, else `ttl` ms after it was written.
 * A file whose JSON is not an object holds no session.
 * @throws Never.
 */
export function sessionFileStoreSessions(ttl: number): LegacyFormat {
  return {
    inPlace: true,
    convert(value, writtenAt) {
      if (!isObject(value)) return undefined
      const { __lastAccess: lastAccess, ...session } = value
      const { record, expiresAt } = toSessionRecord(session, session.cookie, writtenAt + ttl)
      if (typeof lastAccess !== 'number' || !Number.isFinite(lastAccess)) {
        return { value: record, expiresAt }
      }
      const maxAge = isObject(session.cookie) ? session.cookie.originalMaxAge : undefined
      const lifetime = typeof maxAge === 'number' && maxAge > 0 ? maxAge : ttl
      return { value: record, expiresAt: lastAccess + lifetime }
    },
  }
}

/**
 * The key of a file that @itrocks/fastify-file-session-store 0.3 named `<key>`, with no
 * extension: only a key that is its own safe name can be one, so such a name never has a `.`
 * (no temp, quarantined or `.json` file) nor a separator, and never names anything outside the
 * directory.
 */
export function legacyFileNameToKey(name: string): string | undefined {
  return keyToFileName(name) === `${name}.json` ? name : undefined
}

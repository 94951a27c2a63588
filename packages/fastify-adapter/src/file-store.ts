import type { SessionStore } from '@fastify/session'
import type { Session } from 'fastify'
import {
  type CacheOptions,
  JsonFileRepository,
  JsonFileRepositoryError,
  type Logger,
  type RepositoryEntry,
} from 'json-file-repository'

/** Options of {@link FileStore}. */
export interface FileStoreOptions {
  /** Directory of the session files; created (mode `directoryMode`) when missing. */
  directory: string
  /**
   * Lifetime in milliseconds of a session whose cookie has no `expires` (a browser-session
   * cookie, no `maxAge`), renewed each time the session is saved.
   * @default 86_400_000 (one day)
   */
  ttl?: number
  /**
   * When a session is saved unchanged but for its `cookie.expires` (what `rolling` does on
   * every request), its file's expiry is only moved once it lags the new one by this many
   * milliseconds (and never by more than half of the session's remaining lifetime): most
   * requests then touch no file at all. `0` moves it on every request.
   * @default 60_000 (one minute)
   */
  touchAfter?: number
  /**
   * Remove the files of expired sessions every so many milliseconds, on a timer that does not
   * keep the process alive. `0` turns it off (then call `prune()` yourself, or run the
   * `json-file-repository prune` command from cron).
   * @default 600_000 (ten minutes)
   */
  pruneInterval?: number
  /**
   * Where corrupt session files are reported; `app.log` fits.
   * @default process warnings
   */
  logger?: Logger
  /**
   * Cache of serialized sessions, validated against the file on every read (or once per
   * `revalidateAfter` ms, see the core's `CacheOptions`); `false` for none.
   * @default { maxEntries: 100_000, maxBytes: 67_108_864, revalidateAfter: 0 }
   */
  cache?: CacheOptions | false
  /**
   * Flush each write to disk before it becomes visible (safe against power loss). `false` saves the
   * flush (how much that gains depends on the disk) and stays atomic against crashes.
   * @default true
   */
  fsync?: boolean
  /** @default 0o600 */
  fileMode?: number
  /** @default 0o700 */
  directoryMode?: number
}

type Callback = (error?: unknown) => void
type SessionCallback = (error: unknown, session?: Session | null) => void
/** What is stored: the session as JSON, its `cookie.expires` kept as the file's expiry. */
type SessionRecord = Record<string, unknown> & { cookie?: Record<string, unknown> }

/** Own keys that would replace the prototype of the Session `@fastify/session` copies into. */
const UNSAFE_KEYS = ['__proto__', 'constructor', 'prototype']

/**
 * A session store for `@fastify/session` that keeps each session in a JSON file:
 * atomic writes, a bounded cache checked against the file on every read (several processes can
 * share the directory), expiry, and files written only when a session really changed.
 *
 * @example
 * app.register(fastifySession, {
 *   secret: process.env.SESSION_SECRET,
 *   store: new FileStore('./sessions'),
 * })
 */
export class FileStore implements SessionStore {
  /** The repository of the session files, for scripts and tools. */
  readonly repository: JsonFileRepository<SessionRecord>
  readonly #ttl: number
  readonly #logger: Logger | undefined

  /**
   * @param options The directory of the session files, or the options.
   * @throws {TypeError} When the directory or an option is invalid.
   * @throws {JsonFileRepositoryError} `ERR_IO` when the directory cannot be created.
   */
  constructor(options: string | FileStoreOptions) {
    const { directory, ttl, touchAfter, pruneInterval, ...passed } =
      typeof options === 'string' ? { directory: options } : (options ?? ({} as FileStoreOptions))
    this.#ttl = ttl ?? 86_400_000
    if (!Number.isSafeInteger(this.#ttl) || this.#ttl <= 0) {
      throw new TypeError(`\`ttl\` must be a positive number of milliseconds, got ${String(ttl)}`)
    }
    this.#logger = passed.logger
    this.repository = new JsonFileRepository(directory, {
      ...passed,
      touchAfter: touchAfter ?? 60_000,
      pruneInterval: pruneInterval ?? 600_000,
    })
  }

  /**
   * The file of a session.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY` for an id that cannot name a file.
   */
  sessionFile(sessionId: string): string {
    return this.repository.path(sessionId)
  }

  /**
   * Saves a session. Writes the file only when the session changed; when only its expiry
   * moved, moves the file's expiry (see `touchAfter`).
   * Calls back with a `JsonFileRepositoryError`: `ERR_INVALID_KEY` for an id that cannot name
   * a file, `ERR_INVALID_VALUE` for a session JSON cannot hold, `ERR_IO`; with a `TypeError`
   * when `session` is not an object.
   */
  set(sessionId: string, session: Session, callback: Callback): void {
    const saved = attempt(() => {
      const { record, expiresAt } = this.#toRecord(session)
      return this.repository.set(sessionId, record, { expiresAt })
    })
    settle(saved, callback)
  }

  /**
   * Loads a session: `null` when it is missing, expired, corrupt or its id cannot name a file.
   * Calls back with a `JsonFileRepositoryError` `ERR_IO` when the file cannot be read.
   */
  get(sessionId: string, callback: SessionCallback): void {
    // One promise hop from the repository to the callback, not three: this is the path of every
    // request, and the hops were most of what a cold read cost beyond the file's own I/O.
    this.repository.getEntry(sessionId).then(
      (entry) => {
        let session: Session | null
        try {
          session = this.#toSession(sessionId, entry)
        } catch (error) {
          return callback(error)
        }
        callback(null, session)
      },
      (error: unknown) =>
        // A cookie holding an id we could never have issued is a stranger's, not a fault.
        error instanceof JsonFileRepositoryError && error.code === 'ERR_INVALID_KEY'
          ? callback(null, null)
          : callback(error),
    )
  }

  /**
   * Removes a session.
   * Calls back with a `JsonFileRepositoryError` `ERR_IO` when the file cannot be removed.
   */
  destroy(sessionId: string, callback: Callback): void {
    settle(this.#destroy(sessionId), callback)
  }

  /**
   * Moves a session's expiry to what its cookie says, without rewriting it.
   * Calls back with a `JsonFileRepositoryError` (`ERR_INVALID_KEY`, `ERR_IO`), or a `TypeError`
   * when `session` is not an object.
   */
  touch(sessionId: string, session: Session, callback: Callback): void {
    const touched = attempt(() =>
      this.repository.touch(sessionId, this.#toRecord(session).expiresAt),
    )
    settle(
      touched.then(() => {}),
      callback,
    )
  }

  /** Every live session. Calls back with a `JsonFileRepositoryError` `ERR_IO`. */
  all(callback: (error: unknown, sessions?: Session[]) => void): void {
    settle(this.#all(), callback)
  }

  /** The number of live sessions. Calls back with a `JsonFileRepositoryError` `ERR_IO`. */
  length(callback: (error: unknown, length?: number) => void): void {
    settle(this.#length(), callback)
  }

  /** Removes every session. Calls back with a `JsonFileRepositoryError` `ERR_IO`. */
  clear(callback: Callback): void {
    settle(
      this.repository.clear().then(() => {}),
      callback,
    )
  }

  /**
   * Removes the files of expired sessions now.
   * @returns How many were removed.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  prune(): Promise<number> {
    return this.repository.prune()
  }

  /** Waits for the writes under way and stops the prune timer. */
  close(): Promise<void> {
    return this.repository.close()
  }

  /** What @fastify/session gets for a stored entry (see #toRecord for what is stored). */
  #toSession(sessionId: string, entry: RepositoryEntry<SessionRecord> | undefined): Session | null {
    if (entry === undefined) return null
    const record = entry.value as unknown
    if (!isObject(record)) {
      this.#warn(`The file of session ${JSON.stringify(sessionId)} holds no session object`)
      return null
    }
    for (const key of UNSAFE_KEYS) delete record[key]
    // The expiry on the file is the one that counts: after a skipped or lost touch it can lag
    // the cookie's, and @fastify/session must judge the session by what is stored.
    const cookie = record.cookie
    if (isObject(cookie) && !('expires' in cookie) && entry.expiresAt !== undefined) {
      cookie.expires = new Date(entry.expiresAt).toISOString()
    }
    return record as unknown as Session
  }

  async #destroy(sessionId: string): Promise<void> {
    try {
      await this.repository.delete(sessionId)
    } catch (error) {
      // No file can exist for an id that cannot name one.
      if (!(error instanceof JsonFileRepositoryError && error.code === 'ERR_INVALID_KEY')) {
        throw error
      }
    }
  }

  async #all(): Promise<Session[]> {
    const sessions: Session[] = []
    for await (const key of this.repository.keys()) {
      const session = this.#toSession(key, await this.repository.getEntry(key))
      if (session) sessions.push(session)
    }
    return sessions
  }

  async #length(): Promise<number> {
    let length = 0
    for await (const _ of this.repository.keys()) length++
    return length
  }

  /**
   * The record to store and its expiry. A cookie's `expires` (and `originalExpires`, which
   * @fastify/session derives from it) moves on every rolling request: it is kept as the file's
   * expiry, not in the JSON, so that a session whose data did not change is not rewritten.
   */
  #toRecord(session: Session): { record: SessionRecord; expiresAt: number } {
    if (!isObject(session))
      throw new TypeError(`\`session\` must be an object, got ${String(session)}`)
    const source = session as unknown as SessionRecord & { cookie?: { toJSON?: () => object } }
    const cookie =
      typeof source.cookie?.toJSON === 'function' ? source.cookie.toJSON() : source.cookie
    if (!isObject(cookie)) return { record: source, expiresAt: Date.now() + this.#ttl }
    const { expires, originalExpires: _, ...rest } = cookie
    const expiresAt = expires == null ? Number.NaN : new Date(expires as string | Date).getTime()
    if (Number.isFinite(expiresAt)) return { record: { ...source, cookie: rest }, expiresAt }
    return {
      record: { ...source, cookie: { ...rest, expires: null } },
      expiresAt: Date.now() + this.#ttl,
    }
  }

  #warn(message: string): void {
    if (this.#logger) this.#logger.warn({}, message)
    else process.emitWarning(message, 'FileStore')
  }
}

/** The promise `start` returns, or a rejected one when it throws. */
function attempt<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start()
  } catch (error) {
    return Promise.reject(error)
  }
}

/** Settles a node-style callback from a promise: once, asynchronously, outside any `try`. */
function settle<T>(promise: Promise<T>, callback: (error: unknown, value?: T) => void): void {
  promise.then((value) => callback(null, value), callback)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

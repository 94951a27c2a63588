import { inspect } from 'node:util'
import type { SessionStore } from '@fastify/session'
import type { Session } from 'fastify'
import {
  type CacheOptions,
  checkOptionNames,
  type EncryptionOptions,
  fingerprint,
  JsonFileRepository,
  JsonFileRepositoryError,
  type Logger,
  legacySessions,
  type MigrationReport,
  type RepositoryEntry,
  recordToSession,
  redactError,
  redactLogger,
  type SessionRecord,
  toSessionRecord,
} from 'json-file-repository'

/**
 * Options of {@link FileStore}. Durations are in milliseconds, like `cookie.maxAge` (not in
 * seconds as in connect-redis and session-file-store).
 */
export interface FileStoreOptions {
  /** Directory of the session files; created (mode `directoryMode`) when missing. */
  directory: string
  /**
   * Lifetime in milliseconds (not seconds) of a session whose cookie has no `expires` (a
   * browser-session cookie, no `maxAge`), renewed each time the session is saved. A `ttl` under
   * a minute is reported once (to the logger, else as a process warning): it is most likely a
   * number of seconds.
   * @default 86_400_000 (one day)
   */
  ttl?: number
  /**
   * When a session is saved unchanged but for its `cookie.expires` (what `rolling` does on
   * every request), its file's expiry is only moved once it lags the new one by this many
   * milliseconds, not seconds (and never by more than half of the session's remaining
   * lifetime): most requests then touch no file at all. `0` moves it on every request.
   * @default 60_000 (one minute)
   */
  touchAfter?: number
  /**
   * Remove the files of expired sessions every so many milliseconds (not seconds), on a timer
   * that does not keep the process alive. `0` turns it off (then call `prune()` yourself, or run
   * the `json-file-repository prune` command from cron).
   * @default 600_000 (ten minutes)
   */
  pruneInterval?: number
  /**
   * Where corrupt session files are reported; `app.log` fits. A session is named there by a
   * fingerprint of its id (`#` and 8 hex digits of its SHA-256), never by its id or its file.
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
  /**
   * Encrypt sessions at rest (AES-256-GCM) and name their files by a keyed hash of the session
   * id, so that a copy of the directory reveals neither sessions nor ids: the core's option,
   * passed through. `keys`: the current key first, then previous ones. See the README.
   * @default none
   */
  encryption?: EncryptionOptions
  /**
   * Largest session file read, and largest session (as JSON, in bytes) saved. A larger file is
   * never read into memory: it is moved aside as corrupt and the session is a miss.
   * @default 1_048_576 (1 MiB)
   */
  maxFileSize?: number
  /**
   * Use a directory that other users can write, or that is not this process's user's, and read
   * session files of any owner. Refused by default: another user who can write the directory
   * can forge or end sessions. Only for a directory shared on purpose by trusted users.
   * @default false
   */
  allowSharedDirectory?: boolean
  /**
   * Read the session files of @itrocks/fastify-file-session-store 0.3 (`<directory>/<id>`, no
   * extension), each converted to `<id>.json` the first time it is met. `false` once none is
   * left saves a look for one on each read of an unknown id.
   * @default true
   */
  legacyFiles?: boolean
}

/** A session as {@link FileStore.list} gives it, as @itrocks/fastify-file-session-store 0.3 did. */
export interface StoredSession {
  id: string
  data: Session
  /** When the session was last saved (or its expiry moved). */
  updatedAt: Date
}

type Callback = (error?: unknown) => void
type SessionCallback = (error: unknown, session?: Session | null) => void

/** Every option name, listed by an object the compiler holds to the interface. */
const OPTION_NAMES = Object.keys({
  directory: true,
  ttl: true,
  touchAfter: true,
  pruneInterval: true,
  logger: true,
  cache: true,
  fsync: true,
  fileMode: true,
  directoryMode: true,
  maxFileSize: true,
  allowSharedDirectory: true,
  legacyFiles: true,
  encryption: true,
} satisfies Record<keyof FileStoreOptions, true>)

/** A `ttl` below this is most likely a number of seconds. */
const SHORT_TTL = 60_000

/** How many session ids a store remembers having loaded or destroyed (see `#known`). */
const KNOWN_SESSIONS = 100_000
/** A session used more recently than this may still have a request in flight. */
const IN_FLIGHT = 60_000

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
  /**
   * The directory as given to the constructor, relative or absolute, as
   * @itrocks/fastify-file-session-store 0.3 kept it (`repository.directory` is absolute).
   */
  readonly directory: string
  /** The repository of the session files, for scripts and tools. */
  readonly repository: JsonFileRepository<SessionRecord>
  readonly #ttl: number
  readonly #logger: Logger
  /**
   * The ids this process loaded (`get` found them) or destroyed, with when, oldest first (a
   * Map in insertion order as an LRU). @fastify/session never reuses an id once destroyed, and
   * a session it did not get from `get` is new (its id reaches no one before the response): so
   * a save for an id in here updates a file that exists, and if the file is gone the session was
   * destroyed, by this process or another, and the save comes from a request that was in flight
   * then: it must not bring the session back. A save for an id not in here creates the file.
   * This memory is not the repository's cache, whose evictions follow bytes; forgetting an id
   * that may still be in flight is reported.
   */
  readonly #known = new Map<string, number>()
  #warnedForgotten = false

  /**
   * Opens (and creates when missing) the directory of the session files. A `ttl` under a minute
   * is reported once through the logger (or as a process warning): durations are milliseconds.
   *
   * @param options The directory of the session files, or the options.
   * @throws {TypeError} When the directory or an option is invalid, or an option is unknown (the
   *   message suggests the closest known name: "did you mean `pruneInterval`?").
   * @throws {JsonFileRepositoryError} `ERR_IO` when the directory cannot be created, or a file
   *   is where it should be; `ERR_UNSAFE_DIRECTORY` when another user could write it (see
   *   `allowSharedDirectory`).
   */
  constructor(options: string | FileStoreOptions) {
    const given = typeof options === 'string' ? { directory: options } : (options ?? {})
    if (typeof given !== 'object') {
      throw new TypeError(
        `\`options\` must be a directory or an object with a \`directory\`, got ${show(options)}`,
      )
    }
    checkOptionNames(given, OPTION_NAMES)
    const { directory, ttl, touchAfter, pruneInterval, legacyFiles, ...passed } =
      given as FileStoreOptions
    this.#ttl = ttl ?? 86_400_000
    if (!Number.isSafeInteger(this.#ttl) || this.#ttl <= 0) {
      throw new TypeError(`\`ttl\` must be a positive number of milliseconds, got ${show(ttl)}`)
    }
    if (legacyFiles !== undefined && typeof legacyFiles !== 'boolean') {
      throw new TypeError(`\`legacyFiles\` must be a boolean, got ${show(legacyFiles)}`)
    }
    // Session ids are credentials: whatever the repository reports names them by fingerprint.
    this.#logger = redactLogger(passed.logger ?? warningLogger)
    this.repository = new JsonFileRepository(directory, {
      ...passed,
      logger: this.#logger,
      touchAfter: touchAfter ?? 60_000,
      pruneInterval: pruneInterval ?? 600_000,
      maxFileSize: passed.maxFileSize ?? 1024 * 1024,
      ...(legacyFiles === false ? {} : { legacyFiles: legacySessions(this.#ttl) }),
    })
    this.directory = directory
    if (this.#ttl < SHORT_TTL) {
      this.#warn(
        `\`ttl\` is ${this.#ttl} ms (${this.#ttl / 1000} s): FileStore durations are milliseconds, not seconds (for ${this.#ttl} seconds, write \`ttl: ${this.#ttl * 1000}\`)`,
        { ttl: this.#ttl },
      )
    }
  }

  /**
   * The file of a session.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY` for an id that cannot name a file.
   */
  sessionFile(sessionId: string): string {
    try {
      return this.repository.path(sessionId)
    } catch (error) {
      throw redactError(error)
    }
  }

  /**
   * Saves a session. Writes the file only when the session changed; when only its expiry
   * moved, moves the file's expiry (see `touchAfter`). A session this store loaded or
   * destroyed whose file is gone was destroyed: its save writes nothing (logged at debug, by
   * fingerprint), so a request in flight during a logout cannot bring the session back.
   * Calls back with a `JsonFileRepositoryError`: `ERR_INVALID_KEY` for an id that cannot name
   * a file, `ERR_INVALID_VALUE` for a session JSON cannot hold or larger than `maxFileSize`,
   * `ERR_IO`; with a `TypeError` when `session` is not an object. Like every error of the
   * store, it names the session by a fingerprint, and holds neither its id nor a path.
   */
  set(sessionId: string, session: Session, callback: Callback): void {
    const saved = attempt(() => {
      const { record, expiresAt } = this.#toRecord(session)
      const update = this.#known.has(sessionId)
      return this.repository.set(sessionId, record, { expiresAt, update })
    }).then((stored) => {
      if (!stored) {
        this.#logger.debug?.(
          { session: fingerprint(sessionId) },
          'save of a destroyed session dropped',
        )
      }
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
          if (entry) this.#remember(sessionId)
          session = this.#toSession(sessionId, entry)
        } catch (error) {
          return callback(redactError(error))
        }
        callback(null, session)
      },
      (error: unknown) =>
        // A cookie holding an id we could never have issued is a stranger's, not a fault.
        error instanceof JsonFileRepositoryError && error.code === 'ERR_INVALID_KEY'
          ? callback(null, null)
          : callback(redactError(error)),
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

  /**
   * Every live session with its id and last save, as @itrocks/fastify-file-session-store 0.3's
   * `list()` gave them (for @itrocks/session's `ManageableSessionStore`).
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  list(): Promise<StoredSession[]> {
    return redacted(this.#list())
  }

  /**
   * Removes a session, as `destroy` does (a save in flight cannot bring it back): what
   * @itrocks/fastify-file-session-store 0.3 called it.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED` (naming the session by fingerprint).
   */
  revoke(sessionId: string): Promise<void> {
    return redacted(this.#destroy(sessionId))
  }

  /**
   * Converts every session file of @itrocks/fastify-file-session-store 0.3 left in the
   * directory now, rather than when each is met. Idempotent, and safe while servers run.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   * @throws {TypeError} With the option `legacyFiles: false`.
   */
  migrate(): Promise<MigrationReport> {
    return redacted(this.repository.migrate())
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
    return redacted(this.repository.prune())
  }

  /** Waits for the writes under way and stops the prune timer. */
  close(): Promise<void> {
    return this.repository.close()
  }

  /** What @fastify/session gets for a stored entry (see #toRecord for what is stored). */
  #toSession(sessionId: string, entry: RepositoryEntry<SessionRecord> | undefined): Session | null {
    if (entry === undefined) return null
    const session = recordToSession(entry) as Session | null
    if (!session) {
      this.#warn(`The file of session ${fingerprint(sessionId)} holds no session object`)
    }
    return session
  }

  /** Removes a session, remembering its id first: a save in flight cannot bring it back. */
  async #destroy(sessionId: string): Promise<void> {
    this.#remember(sessionId)
    try {
      await this.repository.delete(sessionId)
    } catch (error) {
      // No file can exist for an id that cannot name one.
      if (!(error instanceof JsonFileRepositoryError && error.code === 'ERR_INVALID_KEY')) {
        throw error
      }
    }
  }

  async #list(): Promise<StoredSession[]> {
    const sessions: StoredSession[] = []
    for await (const [id, data, entry] of this.#sessions()) {
      sessions.push({ id, data, updatedAt: new Date(entry.changedAt) })
    }
    return sessions
  }

  async #all(): Promise<Session[]> {
    const sessions: Session[] = []
    for await (const [, session] of this.#sessions()) sessions.push(session)
    return sessions
  }

  /** `[id, session, entry]` of every live session, streamed. */
  async *#sessions(): AsyncIterableIterator<[string, Session, RepositoryEntry<SessionRecord>]> {
    for await (const key of this.repository.keys()) {
      const entry = await this.repository.getEntry(key)
      const session = this.#toSession(key, entry)
      if (session && entry) yield [key, session, entry]
    }
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
      throw new TypeError(`\`session\` must be an object, got ${show(session)}`)
    const source = session as unknown as SessionRecord & { cookie?: { toJSON?: () => object } }
    const cookie =
      typeof source.cookie?.toJSON === 'function' ? source.cookie.toJSON() : source.cookie
    return toSessionRecord(source, cookie, Date.now() + this.#ttl)
  }

  /** Notes that `sessionId` was loaded or destroyed now (see `#known`). */
  #remember(sessionId: string): void {
    const now = Date.now()
    this.#known.delete(sessionId)
    this.#known.set(sessionId, now)
    if (this.#known.size <= KNOWN_SESSIONS) return
    const [oldest, usedAt] = this.#known.entries().next().value as [string, number]
    this.#known.delete(oldest)
    if (now - usedAt < IN_FLIGHT && !this.#warnedForgotten) {
      this.#warnedForgotten = true
      this.#warn(
        `More than ${KNOWN_SESSIONS} sessions were used within a minute: a save racing a logout may bring a session back`,
      )
    }
  }

  #warn(message: string, details: object = {}): void {
    this.#logger.warn(details, message)
  }
}

const warningLogger: Logger = {
  warn: (_, message) => process.emitWarning(message ?? 'warning', 'FileStore'),
  error: (_, message) => process.emitWarning(message ?? 'error', 'FileStore'),
}

/** The promise `start` returns, or a rejected one when it throws. */
function attempt<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start()
  } catch (error) {
    return Promise.reject(error)
  }
}

/** `promise`, with its error naming its session by fingerprint (see `redactError`). */
function redacted<T>(promise: Promise<T>): Promise<T> {
  return promise.catch((error) => Promise.reject(redactError(error)))
}

/**
 * Settles a node-style callback from a promise: once, asynchronously, outside any `try`. An
 * error names its session by fingerprint: @fastify/session passes it on to Fastify, whose
 * error handler logs it and puts its message in the 500 response.
 */
function settle<T>(promise: Promise<T>, callback: (error: unknown, value?: T) => void): void {
  promise.then(
    (value) => callback(null, value),
    (error) => callback(redactError(error)),
  )
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A value as error messages show it: on one line, with strings quoted so that `''` shows. */
function show(value: unknown): string {
  return inspect(value, { depth: 1, breakLength: Number.POSITIVE_INFINITY })
}

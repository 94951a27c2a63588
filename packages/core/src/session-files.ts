/**
 * Sessions in files, for any session framework: what every session adapter (the Fastify one,
 * the Express one) does, with promises, so that each adapter is only its framework's bridge
 * (callbacks through {@link settle}, its session and cookie types, its base class, and which
 * earlier store's files it reads). Here: options and their defaults (durations in milliseconds,
 * a `ttl` that looks like seconds reported), the session <-> record mapping of sessions.ts, the
 * memory of loaded and destroyed ids that makes a logout hold against saves in flight, and
 * errors and log lines that name a session by fingerprint only.
 */
import { JsonFileRepositoryError } from './errors'
import { JsonFileRepository } from './json-file-repository'
import {
  check,
  checkOptionNames,
  isCount,
  type JsonFileRepositoryOptions,
  type Logger,
  OPTIONS,
  show,
  warningLogger,
  withDefaults,
} from './options'
import { RecentIds } from './recent-ids'
import { fingerprint, redactError, redactLogger } from './redaction'
import { recordToSession, type SessionRecord, toSessionRecord } from './sessions'
import type { LegacyFormat, MigrationReport, RepositoryEntry } from './types'

/**
 * Options of a session store on files: the repository's (but `readOnly`), passed on to it as
 * they are, with defaults of their own for `touchAfter`, `pruneInterval` and `maxFileSize`, and
 * a `legacyFiles` that is on or off. Durations are in milliseconds, like `cookie.maxAge` (not in
 * seconds as in connect-redis and session-file-store). The `logger` names a session by a
 * fingerprint of its id (`#` and 8 hex digits of its SHA-256), never by its id or its file.
 * Memory: `cache.maxBytes` bounds the cache; the ids loaded in the last five minutes or
 * destroyed in the last ten (see `SessionFiles`) come on top of it, at most 72 bytes an id
 * besides its characters.
 */
export interface SessionFilesOptions
  extends Omit<JsonFileRepositoryOptions, 'readOnly' | 'legacyFiles'> {
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
   * Largest session file read, and largest session (as JSON, in bytes) saved. A larger file is
   * never read into memory: it is moved aside as corrupt and the session is a miss.
   * @default 1_048_576 (1 MiB)
   */
  maxFileSize?: number
  /**
   * Read the session files of the store this one replaces, each converted the first time it is
   * met: which store, and so which files, is the adapter's choice (see `SessionFiles`' `earlier`
   * and the adapter's README). `false` once none is left saves the look for one.
   * @default true
   */
  legacyFiles?: boolean
}

/** A session with its id and last save, as a listing gives it. */
export interface StoredSessionRecord<S = SessionRecord> {
  id: string
  data: S
  /** When the session was last saved (or its expiry moved). */
  updatedAt: Date
}

/** The repository's options a session store passes on: all but `readOnly`. */
const { readOnly: _, ...PASSED_OPTIONS } = OPTIONS

/** Every option name, listed by an object the compiler holds to the interface. */
const SESSION_OPTION_NAMES = Object.keys({
  directory: true,
  ttl: true,
  ...PASSED_OPTIONS,
} satisfies Record<keyof SessionFilesOptions, true>)

/**
 * The defaults of the session layer: of its `ttl`, and of the repository's options whose
 * default differs for sessions (each option's `@default` documents it).
 */
export const SESSION_DEFAULTS = {
  ttl: 86_400_000,
  touchAfter: 60_000,
  pruneInterval: 600_000,
  maxFileSize: 1024 * 1024,
}

/** A `ttl` below this is most likely a number of seconds. */
const SHORT_TTL = 60_000
/**
 * How long a request can last: Node's HTTP server ends one after 300 s by default
 * (`server.requestTimeout`). A session loaded longer ago than this has no request in flight.
 */
const REQUEST_LIFETIME = 300_000
/** How long a destroyed id is remembered: twice as long as any request can last. */
const DESTROYED_LIFETIME = 2 * REQUEST_LIFETIME

/**
 * The sessions of one directory, with promises. Every promise rejects with an error that names
 * a session by its fingerprint, never by its id, and holds no path.
 * @typeParam S The framework's session type, as `get` and `list` give sessions (their JSON
 *   as stored, with `cookie.expires` an ISO string: what any store gives its framework).
 */
export class SessionFiles<S = SessionRecord> {
  /** The directory as given, relative or absolute (`repository.directory` is absolute). */
  readonly directory: string
  /** The repository of the session files, for scripts and tools. */
  readonly repository: JsonFileRepository<SessionRecord>
  /** The logger given, wrapped so that it names sessions by fingerprint. */
  readonly logger: Logger
  readonly #ttl: number
  /**
   * The ids this process loaded (`get` found them) in the last {@link REQUEST_LIFETIME}, and
   * those it destroyed in the last {@link DESTROYED_LIFETIME}, with when, oldest first (each a
   * Map in insertion order, dropped by age, never by count: no flood of other ids can push a
   * logout out). Session frameworks never reuse an id once destroyed, and a session they did
   * not get from `get` is new (its id reaches no one before the response): so a save for an id
   * in here updates a file that exists, and if the file is gone the session was destroyed, by
   * this process or another, and the save comes from a request that was in flight then: it
   * must not bring the session back. A save for an id in neither creates the file. Each id
   * takes at most 72 bytes of heap here besides its characters (see `RecentIds`).
   */
  readonly #loaded = new RecentIds(REQUEST_LIFETIME)
  readonly #destroyed = new RecentIds(DESTROYED_LIFETIME)

  /**
   * Opens (and creates when missing) the directory of the session files.
   * @param options The directory of the session files, or the options.
   * @param earlier The format of the files of the store the adapter replaces, for a `ttl` (see
   *   `legacySessions` and `sessionFileStoreSessions`): what `legacyFiles` reads.
   * @throws {TypeError} When the directory or an option is invalid, or an option is unknown (the
   *   message suggests the closest known name: "did you mean `pruneInterval`?").
   * @throws {JsonFileRepositoryError} `ERR_IO` when the directory cannot be created, or a file
   *   is where it should be; `ERR_UNSAFE_DIRECTORY` when another user could write it (see
   *   `allowSharedDirectory`).
   */
  constructor(options: string | SessionFilesOptions, earlier: (ttl: number) => LegacyFormat) {
    const given = typeof options === 'string' ? { directory: options } : (options ?? {})
    if (typeof given !== 'object') {
      throw new TypeError(
        `\`options\` must be a directory or an object with a \`directory\`, got ${show(options)}`,
      )
    }
    checkOptionNames(given, SESSION_OPTION_NAMES)
    const { directory, ttl: _, legacyFiles, ...passed } = given as SessionFilesOptions
    const { ttl, ...defaulted } = withDefaults(given, SESSION_DEFAULTS)
    check(isCount(ttl) && ttl > 0, 'ttl', 'a positive number of milliseconds', ttl)
    check(
      legacyFiles === undefined || typeof legacyFiles === 'boolean',
      'legacyFiles',
      'a boolean',
      legacyFiles,
    )
    this.#ttl = ttl
    // Session ids are credentials: whatever the repository reports names them by fingerprint.
    this.logger = redactLogger(passed.logger ?? warningLogger('FileStore'))
    this.repository = new JsonFileRepository(directory, {
      ...passed,
      ...defaulted,
      logger: this.logger,
      ...(legacyFiles !== false ? { legacyFiles: earlier(this.#ttl) } : {}),
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
  path(sessionId: string): string {
    try {
      return this.repository.path(sessionId)
    } catch (error) {
      throw redactError(error)
    }
  }

  /**
   * A session as its framework gets it (the file's expiry in `cookie.expires`): `null` when it
   * is missing, expired, corrupt or its id cannot name a file. A file of the earlier store is
   * converted to the store's own format (or removed when it has expired) by the repository.
   * @throws {JsonFileRepositoryError} `ERR_IO` when the file cannot be read (or converted),
   *   `ERR_CLOSED`.
   */
  get(sessionId: string): Promise<S | null> {
    // One promise hop from the repository: this is the path of every request.
    return this.repository.getEntry(sessionId).then(
      (entry) => {
        if (!entry) return null
        this.#loaded.note(sessionId)
        return this.#toSession(sessionId, entry) as S | null
      },
      (error: unknown) => {
        // A cookie holding an id we could never have issued is a stranger's, not a fault.
        if (error instanceof JsonFileRepositoryError && error.code === 'ERR_INVALID_KEY') {
          return null
        }
        throw redactError(error)
      },
    )
  }

  /**
   * Saves a session. Writes the file only when the session changed; when only its expiry
   * moved, moves the file's expiry (see `touchAfter`). A session loaded or destroyed here whose
   * file is gone was destroyed: its save writes nothing (logged at debug, by fingerprint), so a
   * request in flight during a logout cannot bring the session back.
   * @param session The session; its `cookie` is read through its `toJSON()` when it has one.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY` for an id that cannot name a file,
   *   `ERR_INVALID_VALUE` for a session JSON cannot hold or larger than `maxFileSize`, `ERR_IO`,
   *   `ERR_CLOSED`.
   * @throws {TypeError} When `session` is not an object.
   */
  set(sessionId: string, session: object): Promise<void> {
    const saved = attempt(() => {
      const { record, expiresAt } = this.#toRecord(session)
      const update = this.#loaded.has(sessionId) || this.#destroyed.has(sessionId)
      return this.repository.set(sessionId, record, { expiresAt, update })
    }).then((stored) => {
      if (!stored) {
        this.logger.debug?.(
          { session: fingerprint(sessionId) },
          'save of a destroyed session dropped',
        )
      }
    })
    return redacted(saved)
  }

  /**
   * Moves a session's expiry to what its cookie says, without rewriting it.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY`, `ERR_IO`, `ERR_CLOSED`.
   * @throws {TypeError} When `session` is not an object.
   */
  touch(sessionId: string, session: object): Promise<void> {
    const touched = attempt(() =>
      this.repository.touch(sessionId, this.#toRecord(session).expiresAt),
    )
    return redacted(touched.then(() => {}))
  }

  /**
   * Removes a session, remembering its id first: a save in flight cannot bring it back.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  destroy(sessionId: string): Promise<void> {
    return redacted(this.#destroy(sessionId))
  }

  /**
   * Every live session with its id and last save.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  list(): Promise<StoredSessionRecord<S>[]> {
    return redacted(this.#list())
  }

  /**
   * The number of live sessions.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  length(): Promise<number> {
    return redacted(this.#length())
  }

  /**
   * Removes every session.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  clear(): Promise<void> {
    return redacted(this.repository.clear().then(() => {}))
  }

  /**
   * Converts every file of the earlier store left in the directory now, rather than when each
   * is met. Idempotent, and safe while servers run.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   * @throws {TypeError} With the option `legacyFiles: false`.
   */
  migrate(): Promise<MigrationReport> {
    return redacted(this.repository.migrate())
  }

  /**
   * Removes the files of expired sessions now.
   * @returns How many were removed.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  prune(): Promise<number> {
    return redacted(this.repository.prune())
  }

  /**
   * Waits for the writes under way and stops the prune timer.
   * @throws Never.
   */
  close(): Promise<void> {
    return this.repository.close()
  }

  /** What the framework gets for a stored entry. */
  #toSession(sessionId: string, entry: RepositoryEntry<SessionRecord>): SessionRecord | null {
    const session = recordToSession(entry)
    if (!session)
      this.#warn(`The file of session ${fingerprint(sessionId)} holds no session object`)
    return session
  }

  async #destroy(sessionId: string): Promise<void> {
    this.#destroyed.note(sessionId)
    try {
      await this.repository.delete(sessionId)
    } catch (error) {
      // No file can exist for an id that cannot name one.
      if (!(error instanceof JsonFileRepositoryError && error.code === 'ERR_INVALID_KEY')) {
        throw error
      }
    }
  }

  async #list(): Promise<StoredSessionRecord<S>[]> {
    const sessions: StoredSessionRecord<S>[] = []
    for await (const key of this.repository.keys()) {
      const entry = await this.repository.getEntry(key)
      const data = entry && (this.#toSession(key, entry) as S | null)
      if (data && entry) sessions.push({ id: key, data, updatedAt: new Date(entry.changedAt) })
    }
    return sessions
  }

  async #length(): Promise<number> {
    let length = 0
    for await (const _ of this.repository.keys()) length++
    return length
  }

  /**
   * The record to store and its expiry. A cookie's `expires` moves on every rolling request: it
   * is kept as the file's expiry, not in the JSON, so that a session whose data did not change
   * is not rewritten.
   */
  #toRecord(session: object): { record: SessionRecord; expiresAt: number } {
    if (typeof session !== 'object' || session === null || Array.isArray(session)) {
      throw new TypeError(`\`session\` must be an object, got ${show(session)}`)
    }
    const source = session as SessionRecord & { cookie?: { toJSON?: () => object } }
    const cookie =
      typeof source.cookie?.toJSON === 'function' ? source.cookie.toJSON() : source.cookie
    return toSessionRecord(source, cookie, Date.now() + this.#ttl)
  }

  #warn(message: string, details: object = {}): void {
    this.logger.warn(details, message)
  }
}

/**
 * Settles a node-style callback from a promise: once, asynchronously, outside the promise chain
 * (on `process.nextTick`, as `util.callbackify` does), so that an error the callback throws is
 * an `uncaughtException`, as with MemoryStore, not an `unhandledRejection`, and does not call
 * it again. An error names its session by fingerprint (see `redactError`): frameworks pass it
 * on to their error handler, which logs it and may put its message in the 500 response.
 * @throws Never (what `callback` throws is an uncaught exception, as for any callback).
 */
export function settle<T>(
  promise: Promise<T>,
  callback: (error: unknown, value?: T) => void,
): void {
  promise.then(
    (value) => process.nextTick(callback, null, value),
    (error) => process.nextTick(callback, redactError(error)),
  )
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

import { type SessionData, Store } from 'express-session'
import {
  type JsonFileRepository,
  type MigrationReport,
  SessionFiles,
  type SessionFilesOptions,
  type SessionRecord,
  type StoredSessionRecord,
  sessionFileStoreSessions,
  settle,
} from 'json-file-repository'

/**
 * Options of {@link FileStore}: those of the core's `SessionFiles`, as for the Fastify
 * FileStore. Durations are in milliseconds, like `cookie.maxAge` (not in seconds as in
 * session-file-store and connect-redis). `legacyFiles` reads the session files
 * session-file-store 1 left in the directory (`<id>.json` with a `__lastAccess`, unencrypted),
 * each converted to this store's format the first time it is read, or removed when
 * session-file-store would have judged it expired; `false` once none is left.
 */
export interface FileStoreOptions extends SessionFilesOptions {}

/** A session as {@link FileStore.list} gives it: its id, its data and when it was last saved. */
export type StoredSession = StoredSessionRecord<SessionData>

type Callback = (error?: unknown) => void

/**
 * A session store for `express-session` that keeps each session in a JSON file: atomic
 * writes, a bounded cache checked against the file on every read (several processes can share
 * the directory), expiry from `cookie.expires`, and files written only when a session really
 * changed. It extends express-session's own `Store` (the peer dependency the app has), which
 * gives it `regenerate`, `load` and `createSession`, and the events express-session listens to;
 * everything else is the core's `SessionFiles`, bridged to callbacks.
 *
 * @example
 * app.use(session({
 *   secret: process.env.SESSION_SECRET,
 *   resave: false,
 *   saveUninitialized: false,
 *   store: new FileStore('./sessions'),
 * }))
 */
export class FileStore extends Store {
  /** The directory as given to the constructor, relative or absolute. */
  readonly directory: string
  /** The repository of the session files, for scripts and tools. */
  readonly repository: JsonFileRepository<SessionRecord>
  readonly #files: SessionFiles<SessionData>

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
    super()
    this.#files = new SessionFiles(options, sessionFileStoreSessions)
    this.directory = this.#files.directory
    this.repository = this.#files.repository
  }

  /**
   * Loads a session: `null` when it is missing, expired, corrupt or its id cannot name a file.
   * Calls back with a `JsonFileRepositoryError` `ERR_IO` when the file cannot be read. Every
   * error of the store names the session by a fingerprint, and holds neither its id nor a path.
   */
  override get(
    sessionId: string,
    callback: (error: unknown, session?: SessionData | null) => void,
  ): void {
    settle(this.#files.get(sessionId), callback)
  }

  /**
   * Saves a session: writes the file only when the session changed, else moves its expiry (see
   * `touchAfter`); a save of a session destroyed meanwhile (by any process) writes nothing.
   * Calls back with a `JsonFileRepositoryError` (`ERR_INVALID_KEY`, `ERR_INVALID_VALUE` for a
   * session JSON cannot hold or larger than `maxFileSize`, `ERR_IO`), or a `TypeError` when
   * `session` is not an object.
   */
  override set(sessionId: string, session: SessionData, callback?: Callback): void {
    settle(this.#files.set(sessionId, session), this.#callback(callback))
  }

  /**
   * Moves a session's expiry to what its cookie says, without rewriting it (express-session
   * calls it for a session a request did not change).
   * Calls back with a `JsonFileRepositoryError` (`ERR_INVALID_KEY`, `ERR_IO`).
   */
  override touch(sessionId: string, session: SessionData, callback?: Callback): void {
    settle(this.#files.touch(sessionId, session), this.#callback(callback))
  }

  /**
   * Removes a session. Calls back with a `JsonFileRepositoryError` `ERR_IO` when the file
   * cannot be removed.
   */
  override destroy(sessionId: string, callback?: Callback): void {
    settle(this.#files.destroy(sessionId), this.#callback(callback))
  }

  /**
   * Every live session, by id, as express-session's MemoryStore gives them.
   * Calls back with a `JsonFileRepositoryError` `ERR_IO`.
   */
  override all(callback: (error: unknown, sessions?: Record<string, SessionData>) => void): void {
    const all = this.#files
      .list()
      .then((sessions) => Object.fromEntries(sessions.map(({ id, data }) => [id, data])))
    settle(all, callback)
  }

  /** The number of live sessions. Calls back with a `JsonFileRepositoryError` `ERR_IO`. */
  override length(callback: (error: unknown, length?: number) => void): void {
    settle(this.#files.length(), callback)
  }

  /** Removes every session. Calls back with a `JsonFileRepositoryError` `ERR_IO`. */
  override clear(callback?: Callback): void {
    settle(this.#files.clear(), this.#callback(callback))
  }

  /**
   * Every live session with its id and last save.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  list(): Promise<StoredSession[]> {
    return this.#files.list()
  }

  /**
   * Converts every session file session-file-store left in the directory now, rather than
   * when each is read: then `prune()` removes those that expire (it cannot tell their expiry
   * from the file alone). Idempotent, and safe while servers run.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   * @throws {TypeError} With the option `legacyFiles: false`.
   */
  migrate(): Promise<MigrationReport> {
    return this.#files.migrate()
  }

  /**
   * Removes the files of expired sessions now.
   * @returns How many were removed.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  prune(): Promise<number> {
    return this.#files.prune()
  }

  /**
   * Waits for the writes under way and stops the prune timer.
   * @throws Never.
   */
  close(): Promise<void> {
    return this.#files.close()
  }

  /** `callback`, or, when express-session gives none, one that reports an error to the logger. */
  #callback(callback: Callback | undefined): Callback {
    return (
      callback ??
      ((error) => error && this.#files.logger.error({ err: error }, 'session store failure'))
    )
  }
}

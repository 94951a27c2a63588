import type { SessionStore } from '@fastify/session'
import type { Session } from 'fastify'
import {
  type JsonFileRepository,
  legacySessions,
  type MigrationReport,
  SessionFiles,
  type SessionFilesOptions,
  type SessionRecord,
  type StoredSessionRecord,
  settle,
} from 'json-file-repository'

/**
 * Options of {@link FileStore}: those of the core's `SessionFiles`. Durations are in
 * milliseconds, like `cookie.maxAge` (not in seconds as in connect-redis and session-file-store).
 * `legacyFiles` reads the session files of @itrocks/fastify-file-session-store 0.3
 * (`<directory>/<id>`, no extension), each converted to `<id>.json` the first time it is met;
 * `false` once none is left saves a look for one on each read of an unknown id.
 */
export interface FileStoreOptions extends SessionFilesOptions {}

/** A session as {@link FileStore.list} gives it, as @itrocks/fastify-file-session-store 0.3 did. */
export type StoredSession = StoredSessionRecord<Session>

type Callback = (error?: unknown) => void
type SessionCallback = (error: unknown, session?: Session | null) => void

/**
 * A session store for `@fastify/session` that keeps each session in a JSON file:
 * atomic writes, a bounded cache checked against the file on every read (several processes can
 * share the directory), expiry, and files written only when a session really changed. A
 * callback bridge over the core's `SessionFiles`, which does all of that.
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
  readonly #files: SessionFiles<Session>

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
    this.#files = new SessionFiles(options, legacySessions)
    this.directory = this.#files.directory
    this.repository = this.#files.repository
  }

  /**
   * The file of a session.
   * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY` for an id that cannot name a file.
   */
  sessionFile(sessionId: string): string {
    return this.#files.path(sessionId)
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
    settle(this.#files.set(sessionId, session), callback)
  }

  /**
   * Loads a session: `null` when it is missing, expired, corrupt or its id cannot name a file.
   * Calls back with a `JsonFileRepositoryError` `ERR_IO` when the file cannot be read.
   */
  get(sessionId: string, callback: SessionCallback): void {
    settle(this.#files.get(sessionId), callback)
  }

  /**
   * Removes a session.
   * Calls back with a `JsonFileRepositoryError` `ERR_IO` when the file cannot be removed.
   */
  destroy(sessionId: string, callback: Callback): void {
    settle(this.#files.destroy(sessionId), callback)
  }

  /**
   * Moves a session's expiry to what its cookie says, without rewriting it.
   * Calls back with a `JsonFileRepositoryError` (`ERR_INVALID_KEY`, `ERR_IO`), or a `TypeError`
   * when `session` is not an object.
   */
  touch(sessionId: string, session: Session, callback: Callback): void {
    settle(this.#files.touch(sessionId, session), callback)
  }

  /** Every live session. Calls back with a `JsonFileRepositoryError` `ERR_IO`. */
  all(callback: (error: unknown, sessions?: Session[]) => void): void {
    const all = this.#files.list().then((sessions) => sessions.map(({ data }) => data))
    settle(all, callback)
  }

  /**
   * Every live session with its id and last save, as @itrocks/fastify-file-session-store 0.3's
   * `list()` gave them (for @itrocks/session's `ManageableSessionStore`).
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  list(): Promise<StoredSession[]> {
    return this.#files.list()
  }

  /**
   * Removes a session, as `destroy` does (a save in flight cannot bring it back): what
   * @itrocks/fastify-file-session-store 0.3 called it.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED` (naming the session by fingerprint).
   */
  revoke(sessionId: string): Promise<void> {
    return this.#files.destroy(sessionId)
  }

  /**
   * Converts every session file of @itrocks/fastify-file-session-store 0.3 left in the
   * directory now, rather than when each is met. Idempotent, and safe while servers run.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   * @throws {TypeError} With the option `legacyFiles: false`.
   */
  migrate(): Promise<MigrationReport> {
    return this.#files.migrate()
  }

  /** The number of live sessions. Calls back with a `JsonFileRepositoryError` `ERR_IO`. */
  length(callback: (error: unknown, length?: number) => void): void {
    settle(this.#files.length(), callback)
  }

  /** Removes every session. Calls back with a `JsonFileRepositoryError` `ERR_IO`. */
  clear(callback: Callback): void {
    settle(this.#files.clear(), callback)
  }

  /**
   * Removes the files of expired sessions now.
   * @returns How many were removed.
   * @throws {JsonFileRepositoryError} `ERR_IO`, `ERR_CLOSED`.
   */
  prune(): Promise<number> {
    return this.#files.prune()
  }

  /** Waits for the writes under way and stops the prune timer. */
  close(): Promise<void> {
    return this.#files.close()
  }
}

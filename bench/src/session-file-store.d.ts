// session-file-store 1.5 ships no types: the little of it the bench uses.
declare module 'session-file-store' {
  import type { Store } from 'express-session'

  interface FileStoreOptions {
    path?: string
    ttl?: number
    retries?: number
    reapInterval?: number
    logFn?: (...args: unknown[]) => void
  }

  interface SessionFileStore extends Store {
    options: { reapIntervalObject?: NodeJS.Timeout }
  }

  function sessionFileStore(session: unknown): new (options?: FileStoreOptions) => SessionFileStore

  export = sessionFileStore
}

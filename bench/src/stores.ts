/**
 * Every store the bench compares, behind one callback interface (the one @fastify/session calls):
 * FileStore, the raw fs floor, MemoryStore, better-sqlite3, connect-redis and session-file-store;
 * and, for the HTTP case on Express, express-file-session-store, express-session's MemoryStore
 * and session-file-store as express-session stores. A `StoreSpec` is plain data, so a child
 * process can open the same store on the same data.
 */
import fs from 'node:fs'
import path from 'node:path'
import { MemoryStore } from '@fastify/session'
import type { Store as ExpressStore } from 'express-session'
import type { Session } from 'fastify'
import { FileStore } from 'fastify-file-session-store'
import { processCpuMicros } from './measure'

export type Callback = (error?: unknown) => void
export type SessionCallback = (error: unknown, session?: object | null) => void

/** What the bench calls: @fastify/session's store contract, and a way to shut down. */
export interface BenchStore {
  set(sessionId: string, session: object, callback: Callback): void
  get(sessionId: string, callback: SessionCallback): void
  destroy(sessionId: string, callback: Callback): void
  close(): Promise<void>
  /** CPU time of a server process that works for this store (Redis), in microseconds. */
  serverCpu?: () => number
  /** Counters of the store, when it keeps some (FileStore's repository). */
  stats?: () => Record<string, number>
  /** The store itself, for an express-session app (the `express` kinds). */
  express?: ExpressStore
}

export type StoreKind =
  | 'file-store'
  | 'file-store-nofsync'
  | 'file-store-encrypted'
  | 'floor-fsync'
  | 'floor-dirsync'
  | 'floor'
  | 'memory'
  | 'sqlite'
  | 'redis'
  | 'session-file-store'
  | ExpressKind
  | FreshnessKind

/** Stores of express-session, for the HTTP case on Express. */
export type ExpressKind = 'express-file-store' | 'express-memory' | 'express-session-file-store'

/**
 * FileStore with a faster freshness option than its default (an `lstat` on every read): a
 * cache hit checked at most once a second, or never (one process per directory).
 */
export type FreshnessKind = 'file-store-revalidate' | 'file-store-trust'
export const FRESHNESS: Record<FreshnessKind, number> = {
  'file-store-revalidate': 1000,
  'file-store-trust': Number.POSITIVE_INFINITY,
}
export const isFreshnessKind = (kind: StoreKind): kind is FreshnessKind => kind in FRESHNESS

export interface StoreSpec {
  kind: StoreKind
  /** Directory of the store's files (better-sqlite3: of its database). */
  directory: string
  redis?: { port: number; pid: number; prefix: string }
}

export interface StoreInfo {
  label: string
  /** Whether a new process sees the sessions (all but MemoryStore). */
  persistent: boolean
  /** Whether the store flushes each write to disk. */
  fsync: boolean
  /** An express-session store: its HTTP app is on Express, and it is compared with those. */
  express?: true
}

export const STORE_INFO: Record<StoreKind, StoreInfo> = {
  'file-store': { label: 'FileStore (defaults)', persistent: true, fsync: true },
  'file-store-nofsync': { label: 'FileStore fsync: false', persistent: true, fsync: false },
  'file-store-encrypted': { label: 'FileStore encryption', persistent: true, fsync: true },
  'floor-fsync': { label: 'raw fs floor, fsync', persistent: true, fsync: true },
  'floor-dirsync': {
    label: 'raw fs floor, fsync + directory fsync per write',
    persistent: true,
    fsync: true,
  },
  floor: { label: 'raw fs floor, no fsync', persistent: true, fsync: false },
  memory: { label: 'MemoryStore', persistent: false, fsync: false },
  sqlite: { label: 'better-sqlite3 (WAL)', persistent: true, fsync: false },
  redis: { label: 'connect-redis + redis-server', persistent: true, fsync: false },
  'session-file-store': { label: 'session-file-store 1.5', persistent: true, fsync: true },
  'file-store-revalidate': {
    label: 'FileStore revalidateAfter: 1000',
    persistent: true,
    fsync: true,
  },
  'file-store-trust': {
    label: 'FileStore revalidateAfter: Infinity',
    persistent: true,
    fsync: true,
  },
  'express-file-store': {
    label: 'Express: express-file-session-store (defaults)',
    persistent: true,
    fsync: true,
    express: true,
  },
  'express-memory': {
    label: "Express: express-session's MemoryStore",
    persistent: false,
    fsync: false,
    express: true,
  },
  'express-session-file-store': {
    label: 'Express: session-file-store 1.5',
    persistent: true,
    fsync: true,
    express: true,
  },
}

/** The store of the same framework (Fastify or Express) that `kind` is compared with. */
export function sameFramework(kind: StoreKind, other: 'memory' | 'session-file-store'): StoreKind {
  if (!STORE_INFO[kind].express) return other
  return other === 'memory' ? 'express-memory' : 'express-session-file-store'
}

/** The floor that matches a store: with fsync where the store fsyncs. */
export function matchingFloor(kind: StoreKind): StoreKind {
  return STORE_INFO[kind].fsync ? 'floor-fsync' : 'floor'
}

/**
 * The floor app that does the same durable work per write as `kind` over HTTP. FileStore with
 * `fsync` flushes the temp file, renames it and flushes the directory (so the rename survives a
 * crash): its floor does the same, each write on its own. session-file-store (write-file-atomic)
 * flushes the file and renames it, without the directory. The stores without fsync: the floor
 * without it.
 */
export function durableFloor(kind: StoreKind): StoreKind {
  if (kind === 'session-file-store' || kind === 'floor-fsync') return 'floor-fsync'
  if (kind === 'floor-dirsync') return kind
  return STORE_INFO[kind].fsync ? 'floor-dirsync' : 'floor'
}

/** The key of the encrypted FileStore: bench data, not a secret. */
const BENCH_KEY = 'the bench key, not a secret: 32 characters or more'

export async function openStore(spec: StoreSpec): Promise<BenchStore> {
  switch (spec.kind) {
    case 'file-store':
    case 'file-store-nofsync':
    case 'file-store-encrypted':
    case 'file-store-revalidate':
    case 'file-store-trust':
      return fileStore(spec)
    case 'floor-fsync':
    case 'floor':
      return new FloorStore(spec.directory, spec.kind === 'floor-fsync')
    case 'floor-dirsync':
      return new FloorStore(spec.directory, true, true)
    case 'memory':
      return memoryStore()
    case 'sqlite':
      return sqliteStore(spec.directory)
    case 'redis':
      return redisStore(spec)
    case 'session-file-store':
    case 'express-session-file-store':
      return sessionFileStore(spec.directory)
    case 'express-file-store': {
      const { FileStore: ExpressFileStore } = await import('express-file-session-store')
      const store = new ExpressFileStore(spec.directory)
      return expressStore(store, () => store.close())
    }
    case 'express-memory': {
      const { MemoryStore: ExpressMemoryStore } = await import('express-session')
      return expressStore(new ExpressMemoryStore(), async () => {})
    }
  }
}

function fileStore(spec: StoreSpec): BenchStore {
  const store = new FileStore({
    directory: spec.directory,
    fsync: spec.kind !== 'file-store-nofsync',
    ...(isFreshnessKind(spec.kind) ? { cache: { revalidateAfter: FRESHNESS[spec.kind] } } : {}),
    // A fixed key, so that every process of a run opens the same data.
    ...(spec.kind === 'file-store-encrypted' ? { encryption: { keys: [BENCH_KEY] } } : {}),
  })
  return {
    set: (id, session, callback) => store.set(id, session as Session, callback),
    get: (id, callback) => store.get(id, callback),
    destroy: (id, callback) => store.destroy(id, callback),
    close: () => store.close(),
    stats: () => {
      const { hits, misses, writes, touches, skipped, deletes, cacheEntries, cacheBytes } =
        store.repository.stats()
      return { hits, misses, writes, touches, skipped, deletes, cacheEntries, cacheBytes }
    },
  }
}

/**
 * The floor: the same calls made raw with Node's callback fs API and nothing else. A set writes
 * a temp file and renames it over the session's file (with fsync: open, write, fsync, close,
 * rename); a get reads and parses the file.
 */
export class FloorStore implements BenchStore {
  readonly #directory: string
  readonly #fsync: boolean
  /** Whether to fsync the directory after each rename, each write on its own (no group commit). */
  readonly #syncDirectory: boolean
  #counter = 0

  constructor(directory: string, fsync: boolean, syncDirectory = false) {
    this.#directory = directory
    this.#fsync = fsync
    this.#syncDirectory = syncDirectory
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 })
  }

  set(sessionId: string, session: object, callback: Callback): void {
    let json: string
    try {
      json = JSON.stringify(session)
    } catch (error) {
      callback(error)
      return
    }
    const file = this.#file(sessionId)
    const temp = path.join(this.#directory, `.${sessionId}.${process.pid}.${++this.#counter}.tmp`)
    const rename = (error?: unknown) => {
      if (error) callback(error)
      else if (!this.#syncDirectory) {
        fs.rename(temp, file, (renameError) => callback(renameError ?? undefined))
      } else {
        fs.rename(temp, file, (renameError) => {
          if (renameError) return callback(renameError)
          fs.open(this.#directory, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY, (e, fd) => {
            if (e) return callback(e)
            fs.fsync(fd, (syncError) =>
              fs.close(fd, (closeError) => callback(syncError ?? closeError ?? undefined)),
            )
          })
        })
      }
    }
    if (!this.#fsync) {
      fs.writeFile(temp, json, { mode: 0o600 }, rename)
      return
    }
    fs.open(temp, 'w', 0o600, (openError, fd) => {
      if (openError) return callback(openError)
      fs.write(fd, json, (writeError) => {
        if (writeError) return fs.close(fd, () => callback(writeError))
        fs.fsync(fd, (syncError) => fs.close(fd, (closeError) => rename(syncError ?? closeError)))
      })
    })
  }

  get(sessionId: string, callback: SessionCallback): void {
    fs.readFile(this.#file(sessionId), 'utf8', (error, text) => {
      if (error) return callback(error.code === 'ENOENT' ? null : error, null)
      let session: object
      try {
        session = JSON.parse(text)
      } catch (parseError) {
        return callback(parseError)
      }
      callback(null, session)
    })
  }

  destroy(sessionId: string, callback: Callback): void {
    fs.unlink(this.#file(sessionId), (error) =>
      callback(error && error.code !== 'ENOENT' ? error : undefined),
    )
  }

  async close(): Promise<void> {}

  #file(sessionId: string): string {
    return path.join(this.#directory, `${sessionId}.json`)
  }
}

function memoryStore(): BenchStore {
  const store = new MemoryStore()
  return {
    set: (id, session, callback) => store.set(id, session as Session, callback),
    get: (id, callback) => store.get(id, callback),
    destroy: (id, callback) => store.destroy(id, callback),
    close: async () => {},
  }
}

/**
 * A minimal better-sqlite3 session store, as one would write it: one table, WAL with
 * `synchronous = NORMAL` (no fsync per commit), prepared statements, synchronous callbacks.
 */
async function sqliteStore(directory: string): Promise<BenchStore> {
  const { default: Database } = await import('better-sqlite3')
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 })
  const db = new Database(path.join(directory, 'sessions.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(
    'CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, sess TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID',
  )
  const upsert = db.prepare(
    'INSERT INTO sessions (sid, sess, expires) VALUES (?, ?, ?) ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expires = excluded.expires',
  )
  const select = db.prepare<[string, number], { sess: string }>(
    'SELECT sess FROM sessions WHERE sid = ? AND expires > ?',
  )
  const remove = db.prepare('DELETE FROM sessions WHERE sid = ?')
  return {
    set(id, session, callback) {
      try {
        upsert.run(id, JSON.stringify(session), expiresOf(session))
      } catch (error) {
        return callback(error)
      }
      callback()
    },
    get(id, callback) {
      let session: object | null
      try {
        const row = select.get(id, Date.now())
        session = row ? JSON.parse(row.sess) : null
      } catch (error) {
        return callback(error)
      }
      callback(null, session)
    },
    destroy(id, callback) {
      try {
        remove.run(id)
      } catch (error) {
        return callback(error)
      }
      callback()
    },
    close: async () => {
      db.close()
    },
  }
}

function expiresOf(session: object): number {
  const expires = (session as { cookie?: { expires?: unknown } }).cookie?.expires
  const time =
    expires instanceof Date || typeof expires === 'string'
      ? new Date(expires).getTime()
      : Number.NaN
  return Number.isFinite(time) ? time : Date.now() + 86_400_000
}

async function redisStore(spec: StoreSpec): Promise<BenchStore> {
  const server = spec.redis
  if (!server) throw new Error('The redis store needs a running redis-server')
  const { createClient } = await import('redis')
  const { RedisStore } = await import('connect-redis')
  const client = createClient({ socket: { host: '127.0.0.1', port: server.port } })
  client.on('error', () => {})
  await client.connect()
  const store = new RedisStore({ client, prefix: server.prefix })
  return {
    set: (id, session, callback) => {
      store.set(id, session as never, callback)
    },
    get: (id, callback) => {
      store.get(id, callback)
    },
    destroy: (id, callback) => {
      store.destroy(id, callback)
    },
    close: () => client.close(),
    serverCpu: () => processCpuMicros(server.pid),
  }
}

async function sessionFileStore(directory: string): Promise<BenchStore> {
  const { default: expressSession } = await import('express-session')
  const { default: sessionFileStoreFactory } = await import('session-file-store')
  const Store = sessionFileStoreFactory(expressSession)
  const store = new Store({ path: directory, retries: 0, logFn: () => {} })
  return expressStore(store, async () => clearInterval(store.options.reapIntervalObject))
}

/** An express-session store, as the bench calls it and as an Express app uses it. */
function expressStore(store: ExpressStore, close: () => Promise<void>): BenchStore {
  return {
    set: (id, session, callback) => store.set(id, session as never, callback),
    get: (id, callback) => store.get(id, callback),
    destroy: (id, callback) => store.destroy(id, callback),
    close,
    express: store,
  }
}

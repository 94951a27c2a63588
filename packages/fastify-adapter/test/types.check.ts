// Compiled by `pnpm typecheck`: FileStore is what @fastify/session's `store` option takes.
import type { FastifySessionOptions, SessionStore } from '@fastify/session'
import {
  type Equal,
  expectType,
  type FileStoreOptionTypes,
} from '@json-file-repository/test-helpers'
import { FileStore, type FileStoreOptions } from 'fastify-file-session-store'
import {
  type CacheOptions,
  type EncryptionOptions,
  type Logger,
  legacySessions,
} from 'json-file-repository'

export const store: SessionStore = new FileStore('./sessions')
export const options: FastifySessionOptions = {
  secret: 'a secret with at least thirty-two characters',
  store: new FileStore({ directory: './sessions', ttl: 3_600_000, touchAfter: 0 }),
}
export const full: FileStoreOptions = {
  directory: './sessions',
  ttl: 1,
  touchAfter: 1,
  pruneInterval: 0,
  cache: { maxEntries: 10, maxBytes: 1024 },
  fsync: false,
  fileMode: 0o600,
  directoryMode: 0o700,
  logger: console,
}
// @ts-expect-error the directory is required
export const missing: FileStoreOptions = { ttl: 1 }
// @ts-expect-error ttl is a number of milliseconds
export const wrong: FileStoreOptions = { directory: '.', ttl: '1d' }

/** Every option FileStore takes, each with its type: none lost, none added, none narrowed. */
type Options = FileStoreOptionTypes<CacheOptions, EncryptionOptions, Logger>
expectType<Equal<Required<FileStoreOptions>, Options>>(true)
// @ts-expect-error readOnly is the repository's only: a store writes
export const readOnly: FileStoreOptions = { directory: '.', readOnly: true }
// @ts-expect-error legacyFiles is on or off: which earlier store's files is the adapter's choice
export const format: FileStoreOptions = { directory: '.', legacyFiles: legacySessions(1) }

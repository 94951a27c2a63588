// Compiled by `pnpm typecheck`: FileStore is what express-session's `store` option takes, and
// its options are those it has always taken.

import {
  type Equal,
  expectType,
  type FileStoreOptionTypes,
} from '@json-file-repository/test-helpers'
import { FileStore, type FileStoreOptions } from 'express-file-session-store'
import type { SessionOptions, Store } from 'express-session'
import {
  type CacheOptions,
  type EncryptionOptions,
  type Logger,
  sessionFileStoreSessions,
} from 'json-file-repository'

export const store: Store = new FileStore('./sessions')
export const options: SessionOptions = {
  secret: 'a secret with at least thirty-two characters',
  store: new FileStore({ directory: './sessions', ttl: 3_600_000, touchAfter: 0 }),
}

/** Every option FileStore takes, each with its type: none lost, none added, none narrowed. */
type Options = FileStoreOptionTypes<CacheOptions, EncryptionOptions, Logger>
expectType<Equal<Required<FileStoreOptions>, Options>>(true)
// @ts-expect-error the directory is required
export const missing: FileStoreOptions = { ttl: 1 }
// @ts-expect-error readOnly is the repository's only: a store writes
export const readOnly: FileStoreOptions = { directory: '.', readOnly: true }
// @ts-expect-error legacyFiles is on or off: which earlier store's files is the adapter's choice
export const format: FileStoreOptions = { directory: '.', legacyFiles: sessionFileStoreSessions(1) }

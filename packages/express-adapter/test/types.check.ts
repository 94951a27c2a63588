// Compiled by `pnpm typecheck`: FileStore is what express-session's `store` option takes, and
// its options are those it has always taken.
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

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false
function expectType<T extends true>(_: T) {}
/** Every option FileStore takes, each with its type: none lost, none added, none narrowed. */
expectType<
  Equal<
    Required<FileStoreOptions>,
    {
      directory: string
      ttl: number
      touchAfter: number
      pruneInterval: number
      logger: Logger
      cache: CacheOptions | false
      fsync: boolean
      fileMode: number
      directoryMode: number
      maxFileSize: number
      allowSharedDirectory: boolean
      legacyFiles: boolean
      encryption: EncryptionOptions
    }
  >
>(true)
// @ts-expect-error the directory is required
export const missing: FileStoreOptions = { ttl: 1 }
// @ts-expect-error readOnly is the repository's only: a store writes
export const readOnly: FileStoreOptions = { directory: '.', readOnly: true }
// @ts-expect-error legacyFiles is on or off: which earlier store's files is the adapter's choice
export const format: FileStoreOptions = { directory: '.', legacyFiles: sessionFileStoreSessions(1) }

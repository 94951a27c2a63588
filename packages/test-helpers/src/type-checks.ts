/**
 * What the type tests (`*.check.ts`, compiled by `pnpm typecheck`) of both adapters share: the
 * options a `FileStore` has always taken, each with its type.
 */
import type { CacheOptions, EncryptionOptions, Logger } from 'json-file-repository'

/** Whether two types are the same (not merely assignable one to the other). */
export type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false

/** Compiles only for `true`: `expectType<Equal<A, B>>(true)`. */
export function expectType<T extends true>(_: T): void {}

/** Every option of a session adapter's `FileStore`, each with its type, all required. */
export interface FileStoreOptionTypes {
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

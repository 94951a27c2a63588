/**
 * What the type tests (`*.check.ts`, compiled by `pnpm typecheck`) of both adapters share: the
 * options a `FileStore` has always taken, each with its type.
 */

/** Whether two types are the same (not merely assignable one to the other). */
export type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false

/** Compiles only for `true`: `expectType<Equal<A, B>>(true)`. */
export function expectType<T extends true>(_: T): void {}

/**
 * Every option of a session adapter's `FileStore`, each with its type, all required; given the
 * core's types (this package depends on none of the packages it tests).
 */
export interface FileStoreOptionTypes<CacheOptions, EncryptionOptions, Logger> {
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

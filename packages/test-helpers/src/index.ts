/**
 * What the tests of the packages share, imported by name (`@json-file-repository/test-helpers`):
 * a private workspace package, never published nor a dependency of a published one.
 */
export { listNames, makeTempDirectory, removeDirectory } from './files'
export { HttpBrowser, startServer, stopper } from './http'
export { type LogRecord, memoryLogger } from './logger'
export {
  describePublished,
  importsOf,
  PACKING_TIMEOUT,
  type Packed,
  packed,
  run,
  sourceManifest,
  typeCheck,
  typeErrors,
} from './packing'
export { freePort, type RedisServer, startRedis } from './redis-server'
export { runScript, type ScriptResult } from './scripts'
export {
  describeSessionFiles,
  promisedStore,
  type SessionFilesUnderTest,
} from './session-files.contract'
export {
  type Answer,
  type AppOptions,
  type CallbackStore,
  describeSessionStore,
  describeThrowingCallback,
  expiresOf,
  type RunningApp,
  type SessionFramework,
  type StoreUnderTest,
  type Visitor,
} from './session-store.contract'
export { expiryToMtime, mtimeToExpiry, STAMPED_FROM } from './stored-expiry'
export { type Equal, expectType, type FileStoreOptionTypes } from './type-checks'
export { call, fakeClock, NOT_THE_CLOCK, sleep, thrown, waitFor } from './waits'

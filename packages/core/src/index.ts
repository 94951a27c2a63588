export type { EncryptionKey, EncryptionOptions } from './encryption'
export {
  JsonFileRepositoryError,
  type JsonFileRepositoryErrorCode,
} from './errors'
export { JsonFileRepository } from './json-file-repository'
export { KEY_VARIABLE, readEncryptionKeys } from './key-files'
export {
  type CacheOptions,
  checkOptionNames,
  type JsonFileRepositoryOptions,
  type Logger,
} from './options'
export { fingerprint, redactError, redactLogger } from './redaction'
export {
  type EarlierStore,
  SessionFiles,
  type SessionFilesOptions,
  type StoredSessionRecord,
  settle,
} from './session-files'
export {
  legacySessions,
  recordToSession,
  type SessionRecord,
  sessionFileStoreSessions,
  toSessionRecord,
} from './sessions'
export type {
  EntryInfo,
  LegacyFormat,
  MigrationReport,
  RepositoryEntry,
  RepositoryStats,
  SetOptions,
} from './types'

export { legacySessions, sessionFileStoreSessions } from './earlier-stores/formats'
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
  SessionFiles,
  type SessionFilesOptions,
  type StoredSessionRecord,
  settle,
} from './session-files'
export { recordToSession, type SessionRecord, toSessionRecord } from './sessions'
export type {
  EntryInfo,
  LegacyFormat,
  MigrationReport,
  RepositoryEntry,
  RepositoryStats,
  SetOptions,
} from './types'

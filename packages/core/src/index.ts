export {
  JsonFileRepositoryError,
  type JsonFileRepositoryErrorCode,
} from './errors'
export { JsonFileRepository } from './json-file-repository'
export type { CacheOptions, JsonFileRepositoryOptions, Logger } from './options'
export { legacySessions, type SessionRecord, toSessionRecord } from './sessions'
export type {
  EntryInfo,
  LegacyFormat,
  MigrationReport,
  RepositoryEntry,
  RepositoryStats,
  SetOptions,
} from './types'

export {
  JsonFileRepositoryError,
  type JsonFileRepositoryErrorCode,
} from './errors'
export { JsonFileRepository } from './json-file-repository'
export type { CacheOptions, JsonFileRepositoryOptions, Logger } from './options'
export { fingerprint, redactError, redactLogger } from './redaction'
export type { EntryInfo, RepositoryEntry, RepositoryStats, SetOptions } from './types'

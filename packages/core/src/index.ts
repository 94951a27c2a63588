export {
  JsonFileRepositoryError,
  type JsonFileRepositoryErrorCode,
} from './errors'
export { JsonFileRepository } from './json-file-repository'
export {
  type CacheOptions,
  checkOptionNames,
  type JsonFileRepositoryOptions,
  type Logger,
} from './options'
export { fingerprint, redactError, redactLogger } from './redaction'
export type { EntryInfo, RepositoryEntry, RepositoryStats, SetOptions } from './types'

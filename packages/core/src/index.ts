export type { EncryptionKey, EncryptionOptions } from './encryption'
export {
  JsonFileRepositoryError,
  type JsonFileRepositoryErrorCode,
} from './errors'
export { JsonFileRepository } from './json-file-repository'
export type { CacheOptions, JsonFileRepositoryOptions, Logger } from './options'
export type { EntryInfo, RepositoryEntry, RepositoryStats, SetOptions } from './types'

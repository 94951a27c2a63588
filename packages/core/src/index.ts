export {
  JsonFileRepositoryError,
  type JsonFileRepositoryErrorCode,
} from './errors'
export {
  JsonFileRepository,
  type RepositoryEntry,
  type RepositoryStats,
  type SetOptions,
} from './json-file-repository'
export {
  type CacheOptions,
  checkOptionNames,
  type JsonFileRepositoryOptions,
  type Logger,
} from './options'

export { fingerprint, JsonFileRepositoryError, type Logger } from 'json-file-repository'
export { FileStore, type FileStoreOptions } from './file-store'
export { exportToRedis, type RedisExportOptions } from './redis-export'

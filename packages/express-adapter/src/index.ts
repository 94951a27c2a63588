export {
  fingerprint,
  JsonFileRepositoryError,
  type Logger,
  type MigrationReport,
} from 'json-file-repository'
export { FileStore, type FileStoreOptions, type StoredSession } from './file-store'

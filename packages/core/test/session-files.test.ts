/**
 * `SessionFiles`, the session layer both adapters stand on, tested here through its own
 * promises: the contract each adapter's `FileStore` also runs through its callbacks.
 */
import { describeSessionFiles } from '@json-file-repository/test-helpers'
import {
  JsonFileRepositoryError,
  legacySessions,
  SessionFiles,
  type SessionFilesOptions,
} from 'json-file-repository'

describeSessionFiles(
  'SessionFiles',
  (options) => new SessionFiles(options as SessionFilesOptions, legacySessions),
  JsonFileRepositoryError,
)

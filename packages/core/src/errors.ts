/** The `code` of every {@link JsonFileRepositoryError}. */
export type JsonFileRepositoryErrorCode =
  /** The key is not a string, is empty, is too long, or holds a lone surrogate. */
  | 'ERR_INVALID_KEY'
  /** The value cannot be stored as JSON (circular, BigInt, `undefined`, a function). */
  | 'ERR_INVALID_VALUE'
  /** A file held something that is not a JSON entry; it was moved aside. Reported to the logger only. */
  | 'ERR_CORRUPT_FILE'
  /** The file system refused an operation (disk full, read-only, too many open files…). */
  | 'ERR_IO'
  /** The repository was closed. */
  | 'ERR_CLOSED'

/**
 * The one error class of `json-file-repository`. The message names the key and the file;
 * the underlying error, if any, is kept as `cause`.
 */
export class JsonFileRepositoryError extends Error {
  override name = 'JsonFileRepositoryError'
  readonly code: JsonFileRepositoryErrorCode
  /** The key the operation was for, when there was one. */
  readonly key?: string
  /** The file the operation was for, when there was one. */
  readonly file?: string

  constructor(
    code: JsonFileRepositoryErrorCode,
    message: string,
    details: { key?: string; file?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    if (details.key !== undefined) this.key = details.key
    if (details.file !== undefined) this.file = details.file
  }
}

/** The `code` of a Node.js system error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

import { getSystemErrorMap } from 'node:util'

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
  /** A call that would change the directory, on a repository opened with `readOnly: true`. */
  | 'ERR_READ_ONLY'
  /** The directory, or a parent, can be written by another user (see `allowSharedDirectory`). */
  | 'ERR_UNSAFE_DIRECTORY'

/**
 * The one error class of `json-file-repository`. The message names the key, but not the path
 * of its file (kept in `file`); the underlying error, if any, is kept as `cause`.
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

/**
 * An `ERR_IO` error for an operation on the file of `key` (or on `file` alone, key `''`). The
 * message names the key, never the path (it may reach an HTTP response): that is in `file`.
 */
export function ioError(
  operation: string,
  key: string,
  file: string,
  cause: unknown,
): JsonFileRepositoryError {
  const what = key === '' ? 'the directory' : `key ${showKey(key)}`
  return new JsonFileRepositoryError('ERR_IO', `Cannot ${operation} ${what}: ${describe(cause)}`, {
    key,
    file,
    cause,
  })
}

/** A system error as its code and description, without the path Node puts in its message. */
function describe(cause: unknown): string {
  const errno = (cause as NodeJS.ErrnoException | undefined)?.errno
  const known = typeof errno === 'number' ? getSystemErrorMap().get(errno) : undefined
  return known ? `${known[0]}: ${known[1]}` : String((cause as Error | undefined)?.message ?? cause)
}

/** A key as it can be shown in a message: quoted, escaped and shortened. */
export function showKey(key: unknown): string {
  // Not String(key) for a non-string: it throws for an object without a prototype.
  const text = typeof key === 'string' ? key : `<${typeof key}>`
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)
}

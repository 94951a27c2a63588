/**
 * Keys that are credentials (session ids): how to name them where they must not appear, in
 * log lines, error messages and HTTP responses. A key is named by its fingerprint, which tells
 * two sessions apart in logs but cannot be turned back into the id. Adapters (the Fastify one,
 * and any other) use these so that they all name a session the same way.
 */
import { createHash } from 'node:crypto'
import { JsonFileRepositoryError, showKey } from './errors'
import { checkLogger, type Logger } from './options'

/**
 * A short fingerprint of `key`: `#` and the first 8 hex digits of its SHA-256.
 * @throws Never.
 * @example fingerprint('3TtU…') // '#5f0c2a91'
 */
export function fingerprint(key: string): string {
  return `#${createHash('sha256').update(String(key)).digest('hex').slice(0, 8)}`
}

/**
 * `error` as it may be shown when its key is a credential: a `JsonFileRepositoryError` becomes
 * one with the same `code` whose message names the key by its fingerprint, and without the
 * `key`, `file` and `cause` (whose message holds the path) that loggers print. Repository
 * messages hold no path. Any other value is returned as it is.
 * @throws Never.
 */
export function redactError(error: unknown): unknown {
  if (!(error instanceof JsonFileRepositoryError)) return error
  return new JsonFileRepositoryError(error.code, redactText(error.message, error.key))
}

/**
 * A logger that passes what a repository reports to `logger`, with each key named by its
 * fingerprint and without file paths: for a repository whose keys are credentials.
 * @throws {TypeError} When `logger` lacks `warn()` or `error()` (its calls throw what `logger`
 *   throws).
 */
export function redactLogger(logger: Logger): Logger {
  checkLogger(logger)
  const redact =
    (level: 'warn' | 'error' | 'info' | 'debug') => (object: object, message?: string) => {
      // `file` and `movedTo` are paths, which name the key.
      const { err, key, file: _, movedTo: __, ...record } = object as Record<string, unknown>
      const secret =
        typeof key === 'string' ? key : (err as JsonFileRepositoryError | undefined)?.key
      if (err !== undefined) record.err = redactError(err)
      if (typeof key === 'string') record.key = fingerprint(key)
      logger[level]?.(record, message === undefined ? undefined : redactText(message, secret))
    }
  const redacted: Logger = { warn: redact('warn'), error: redact('error') }
  if (logger.info) redacted.info = redact('info')
  if (logger.debug) redacted.debug = redact('debug')
  return redacted
}

/** `text` with `key`, as repository messages show it, replaced by its fingerprint. */
function redactText(text: string, key: string | undefined): string {
  return key ? text.replaceAll(showKey(key), fingerprint(key)) : text
}

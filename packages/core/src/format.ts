/**
 * What a file holds: the value as JSON text, and nothing else, so that any tool can read it.
 * Every value goes through here on its way to and from a file.
 */
import { JsonFileRepositoryError, showKey } from './errors'

/**
 * The text of the file that stores `value`.
 * @throws {JsonFileRepositoryError} `ERR_INVALID_VALUE` when JSON cannot represent `value`.
 */
export function serialize(key: string, value: unknown): string {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (error) {
    throw new JsonFileRepositoryError(
      'ERR_INVALID_VALUE',
      `Cannot store key ${showKey(key)}: ${(error as Error).message}`,
      { key, cause: error },
    )
  }
  if (json === undefined) {
    throw new JsonFileRepositoryError(
      'ERR_INVALID_VALUE',
      `Cannot store key ${showKey(key)}: ${typeof value} has no JSON representation`,
      { key },
    )
  }
  return json
}

/**
 * The value a file's text holds.
 * @throws {SyntaxError} When the text is not JSON.
 */
export function parse<T>(text: string): T {
  return JSON.parse(text)
}

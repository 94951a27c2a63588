/**
 * What a file holds: the value as JSON text, and nothing else, so that any tool can read it.
 * Every value goes through here on its way to and from a file.
 */
import sjson from 'secure-json-parse'
import { JsonFileRepositoryError, showKey } from './errors'

/**
 * The text of the file that stores `value`.
 * @throws {JsonFileRepositoryError} `ERR_INVALID_VALUE` when JSON cannot represent `value`, or
 * its text is larger than `maxSize` bytes (no read would accept the file).
 */
export function serialize(key: string, value: unknown, maxSize: number): string {
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
  // A UTF-8 byte is at most 3 per UTF-16 unit: counting them is needed near the limit only.
  if (json.length * 3 > maxSize && Buffer.byteLength(json) > maxSize) {
    throw new JsonFileRepositoryError(
      'ERR_INVALID_VALUE',
      `Cannot store key ${showKey(key)}: its JSON is larger than maxFileSize (${maxSize} bytes)`,
      { key },
    )
  }
  return json
}

/**
 * The value a file's text holds, without prototype poisoning: an own `__proto__` key, or a
 * `constructor` holding a `prototype`, is removed at every depth, so that code which merges the
 * value (`Object.assign({}, value.user)`) cannot be handed a prototype. secure-json-parse
 * (Fastify's) scans the text first: a text without them costs what `JSON.parse` costs.
 * @throws {SyntaxError} When the text is not JSON.
 */
export function parse<T>(text: string): T {
  return sjson.parse(text, undefined, SAFE)
}

const SAFE = { protoAction: 'remove', constructorAction: 'remove' } as const

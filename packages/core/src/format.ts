/**
 * What a file holds and how it is named. Unencrypted (the default), the value as JSON text and
 * nothing else, so that any tool can read it, under a name made of the key (keys.ts). With
 * encryption, the key and the value sealed together (encryption.ts) under a keyed hash of the
 * key. Every value goes through here on its way to and from a file.
 */
import sjson from 'secure-json-parse'
import { type EncryptionOptions, type SealingKey, sealedBy, sealingKeys } from './encryption'
import { JsonFileRepositoryError, showKey } from './errors'
import {
  fileNameToKey,
  invalidKeyReason,
  isSealedName,
  keyToFileName,
  sealedFileName,
} from './keys'

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

/** What a file holds once decoded: its key and the value's JSON text. */
export interface Payload {
  key: string
  json: string
  /**
   * In a sealed file only, the expiry sealed with the value (`undefined`: never). The file's
   * modification time holds it too, for `prune()` to judge from `stat`; it is outside the seal,
   * so whoever can write the directory can move it, and the earlier of the two counts.
   */
  sealedExpiry?: number | undefined
}

/**
 * The expiry of an entry whose file's modification time says `mtimeExpiry`: for a sealed file,
 * the earlier of that and the expiry sealed in it (see `Payload.sealedExpiry`); `undefined` is
 * never.
 */
export function expiryOf(mtimeExpiry: number | undefined, payload: Payload): number | undefined {
  if (!('sealedExpiry' in payload)) return mtimeExpiry
  const sealed = payload.sealedExpiry
  if (sealed === undefined || mtimeExpiry === undefined) return sealed ?? mtimeExpiry
  return Math.min(sealed, mtimeExpiry)
}

/** One way of storing an entry: the name of its file and the text in it. */
export interface Form {
  readonly sealed: boolean
  /** Sealed: the ids of the keys it opens files of (see `sealedBy`). */
  readonly keyIds?: readonly string[]
  /** The file name of a valid key, or `undefined` when the name would be too long. */
  name(key: string): string | undefined
  /** The text of the file `name` that stores `json` for `key`, expiring at `expiresAt`. */
  encode(key: string, name: string, json: string, expiresAt: number | undefined): string
  /**
   * What the file `name` holds (its JSON is not parsed yet).
   * @throws {Error} When the text is no entry of this form for that name (altered, truncated,
   * moved from another name, sealed by a key not configured).
   */
  decode(name: string, text: string): Payload
}

/** Plain JSON under a name made of the key: the form without encryption. */
export const plainForm: Form = {
  sealed: false,
  name: keyToFileName,
  encode: (_key, _name, json) => json,
  decode(name, json) {
    const key = fileNameToKey(name)
    if (key === undefined) throw new Error('not the name of an entry')
    return { key, json }
  },
}

/** Sealed by `writer`, opened by whichever of `readers` sealed it. */
function sealedForm(writer: SealingKey, readers: SealingKey[]): Form {
  return {
    sealed: true,
    keyIds: readers.map((reader) => reader.id),
    // The keys of the plain form, no longer: a key is valid in both forms or in neither.
    name: (key) =>
      keyToFileName(key) === undefined ? undefined : sealedFileName(writer.hash(key)),
    // A header `[key, expiry]` as JSON, which holds no raw newline, then the value's JSON.
    encode: (key, name, json, expiresAt) =>
      writer.seal(name, `${JSON.stringify([key, expiresAt ?? null])}\n${json}`),
    decode(name, text) {
      const id = sealedBy(text)
      const opener = readers.find((reader) => reader.id === id)
      if (opener === undefined) throw new Error('sealed by a key not configured')
      const plaintext = opener.open(name, text)
      const newline = plaintext.indexOf('\n')
      if (newline < 0) throw new Error('no header inside')
      const header: unknown = parse(plaintext.slice(0, newline))
      const [key, expiry] = Array.isArray(header) ? header : []
      if (typeof expiry !== 'number' && expiry !== null) throw new Error('no expiry inside')
      // Authenticated already; this says the sealer named the file after this very key.
      if (typeof key !== 'string' || sealedFileName(opener.hash(key)) !== name) {
        throw new Error('not the file of the key it holds')
      }
      return { key, json: plaintext.slice(newline + 1), sealedExpiry: expiry ?? undefined }
    },
  }
}

/**
 * The name of the file of `key` in `form`.
 * @throws {JsonFileRepositoryError} `ERR_INVALID_KEY` when `key` cannot be stored.
 */
export function nameOf(form: Form, key: string): string {
  const reason = invalidKeyReason(key)
  const name = reason === undefined ? form.name(key) : undefined
  if (name === undefined) {
    throw new JsonFileRepositoryError(
      'ERR_INVALID_KEY',
      `Invalid key ${showKey(key)}: ${reason ?? 'too long for a file name'}`,
      typeof key === 'string' ? { key } : {},
    )
  }
  // No form's name ever yields a separator, `.` or `..`; this states the guarantee once more.
  if (name.includes('/') || name.includes('\\')) {
    throw new Error(`Key escaped the directory: ${name}`)
  }
  return name
}

/**
 * The forms of a repository: the one it writes, then those it also reads (a key's file under
 * previous keys, and during a transition the other of plain and encrypted). Reads try the
 * sealed ones first (see `readOrder`).
 * @throws {TypeError} When the `encryption` option is invalid.
 */
export function formsOf(encryption: EncryptionOptions | undefined): [Form, ...Form[]] {
  if (encryption === undefined) return [plainForm]
  const keys = sealingKeys(encryption)
  const sealed = keys.map((key) => sealedForm(key, keys)) as [Form, ...Form[]]
  if (encryption.transition === 'encrypting') return [...sealed, plainForm]
  if (encryption.transition === 'decrypting') return [plainForm, ...sealed]
  return sealed
}

/**
 * The order in which reads try `forms`: the sealed ones first, so that during `'decrypting'` a
 * plain file planted beside an entry's sealed one never wins over it.
 */
export function readOrder(forms: readonly Form[]): Form[] {
  return [...forms.filter((form) => form.sealed), ...forms.filter((form) => !form.sealed)]
}

/** The form among `forms` that a file named `name` is stored in, if any. */
export function formOfName(forms: readonly Form[], name: string): Form | undefined {
  if (isSealedName(name)) return forms.find((form) => form.sealed)
  return fileNameToKey(name) === undefined ? undefined : forms.find((form) => !form.sealed)
}

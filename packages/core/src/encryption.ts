/**
 * Encryption at rest, with `node:crypto` only: each configured key is stretched with HKDF into
 * an AES-256-GCM key, a separate HMAC-SHA-256 key for file names, and a short id written in each
 * file so that reading picks the right key without trying them all. The file name is the
 * additional authenticated data: a file moved to another entry's name fails authentication.
 *
 * A sealed file is ASCII: `jfr2.<key id>.<iv>.<tag>.<ciphertext>`, each part base64url, which
 * no JSON text can start with, so plain and sealed files are told apart without guessing.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
} from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { ownCopy } from './own-copy'

/**
 * A 32-byte key (a `Uint8Array`, or a string of 64 hex or 43-44 base64 digits), or a secret string
 * of 32 characters or more. Whitespace around a string is ignored.
 */
export type EncryptionKey = string | Uint8Array

/** The option `encryption` of a repository. */
export interface EncryptionOptions {
  /** The current key first, then previous ones: the first encrypts and names files, every one decrypts. */
  keys: readonly EncryptionKey[]
  /**
   * While turning encryption on or off in a directory that servers use: `'encrypting'` also
   * reads unencrypted entries (those older than `since` only), `'decrypting'` writes
   * unencrypted entries and still reads encrypted ones (preferred when both exist). Either
   * moves an entry to the form it writes on its next write. Without it, no unencrypted file is
   * ever read: not an entry's, nor an earlier store's (`legacyFiles`).
   */
  transition?: 'encrypting' | 'decrypting'
  /**
   * With `transition: 'encrypting'`: an unencrypted file (an entry's, or an earlier store's)
   * changed at or after this time is not read, since anyone who can write the directory could
   * have planted it. Set it to when the last server that writes unencrypted files stopped; the
   * file's change time (`ctime`) is compared, which no one but root can set back.
   * @default when the repository is opened
   */
  since?: Date | number
}

// jfr2: the plaintext starts with `[key, expiry]` (jfr1 held the key alone: its expiry was the
// file's modification time only, which whoever can write the directory can move).
const VERSION = 'jfr2'
const SALT = 'json-file-repository'
const IV_BYTES = 12
const TAG_BYTES = 16
/** How many keys' file names are remembered: the HMAC costs more than the rest of a cached read. */
const NAMES_REMEMBERED = 10_000

/**
 * The bytes a key stands for: a 32-byte key decoded, a secret as its UTF-8. Whitespace around a
 * string (the newline at the end of a key file) is no part of it, so an app that reads a key
 * file as it is and the command line given the same file derive the same keys; and an app that
 * decodes its base64 key and a command line given the same base64 derive the same keys too.
 * The one parser of keys: the repository, the session stores and the command lines use it.
 * @throws {TypeError} When `key` is neither (the message never shows it).
 */
export function parseKey(key: EncryptionKey): Uint8Array {
  if (key instanceof Uint8Array) {
    if (key.length === 32) return Buffer.from(key)
  } else if (typeof key === 'string') {
    const text = key.trim()
    const decoded = decodedKey(text)
    if (decoded) return decoded
    if (text.length >= 32) return Buffer.from(text, 'utf8')
  }
  const hint =
    key instanceof Uint8Array && key.length > 32
      ? ` (this one holds ${key.length} bytes: a key file's text, read without 'utf8'?)`
      : ''
  throw new TypeError(
    `\`encryption.keys\` must hold 32-byte keys (a Uint8Array, 64 hex or 43-44 base64 digits) or secrets of at least 32 characters${hint}`,
  )
}

/** The 32 bytes `text` spells in hex or base64, or `undefined` when it is neither. */
export function decodedKey(text: string): Uint8Array | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex')
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return Buffer.from(text, 'base64')
  return undefined
}

/** One configured key, derived into what seals, opens and names files. */
export class SealingKey {
  /** A short hash of the derived key, written in every file it seals. */
  readonly id: string
  readonly #cipherKey: Buffer
  readonly #namingKey: Buffer
  readonly #names = new LRUCache<string, string>({ max: NAMES_REMEMBERED })

  /** @throws {TypeError} When `key` is neither a 32-byte key nor a long enough secret. */
  constructor(key: EncryptionKey) {
    const material = parseKey(key)
    const derive = (info: string) => Buffer.from(hkdfSync('sha256', material, SALT, info, 32))
    this.#cipherKey = derive('json-file-repository v1 aes-256-gcm')
    this.#namingKey = derive('json-file-repository v1 file names')
    this.id = createHash('sha256')
      .update(this.#cipherKey)
      .digest()
      .subarray(0, 8)
      .toString('base64url')
  }

  /** The keyed hash that names the file of `key`: 43 base64url characters. */
  hash(key: string): string {
    let name = this.#names.get(key)
    if (name === undefined) {
      name = createHmac('sha256', this.#namingKey).update(key, 'utf8').digest('base64url')
      // A copy of its own: a key cut from a longer string (a cookie) must not keep it alive.
      this.#names.set(ownCopy(key), name)
    }
    return name
  }

  /** `plaintext` sealed for the file `name`, with a fresh random nonce. */
  seal(name: string, plaintext: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#cipherKey, iv)
    cipher.setAAD(Buffer.from(name, 'utf8'))
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    const parts = [iv, cipher.getAuthTag(), data].map((part) => part.toString('base64url'))
    return `${VERSION}.${this.id}.${parts.join('.')}`
  }

  /**
   * The plaintext sealed in `text` for the file `name`.
   * @throws {Error} When `text` was not sealed by this key for this name, or was altered.
   */
  open(name: string, text: string): string {
    const parts = text.split('.')
    if (parts.length !== 5 || parts[0] !== VERSION || parts[1] !== this.id) {
      throw new Error('not sealed by this key')
    }
    const [iv, tag, data] = parts.slice(2).map(decode)
    if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES) throw new Error('a malformed header')
    const decipher = createDecipheriv('aes-256-gcm', this.#cipherKey, iv)
    decipher.setAAD(Buffer.from(name, 'utf8'))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(data as Buffer), decipher.final()]).toString('utf8')
  }
}

/**
 * The bytes of a base64url part. Only its canonical spelling: Node skips stray characters and
 * ignores the spare bits of the last one, and no altered byte of a file may go unnoticed.
 * @throws {Error} When `part` is not canonical base64url.
 */
function decode(part: string): Buffer {
  const bytes = Buffer.from(part, 'base64url')
  if (bytes.toString('base64url') !== part) throw new Error('a malformed part')
  return bytes
}

/** Room for the key inside a sealed file: its JSON, of a key short enough for a file name. */
const KEY_ROOM = 2048

/**
 * The largest sealed file of an entry whose JSON takes `bytes`: what a read of a sealed file
 * accepts where `maxFileSize` bounds the JSON.
 */
export function sealedSize(bytes: number): number {
  const header = VERSION.length + 11 + 16 + 22 + 4
  return header + Math.ceil((bytes + KEY_ROOM) / 3) * 4
}

/** The id of the key that sealed `text`, or `undefined` when it is not a sealed file. */
export function sealedBy(text: string): string | undefined {
  if (!text.startsWith(`${VERSION}.`)) return undefined
  return text.slice(VERSION.length + 1, text.indexOf('.', VERSION.length + 1))
}

/**
 * The keys of an `encryption` option (whose shape options.ts checks).
 * @throws {TypeError} When a key is neither a 32-byte key nor a long enough secret.
 */
export function sealingKeys(options: EncryptionOptions): SealingKey[] {
  return options.keys.map((key) => new SealingKey(key))
}

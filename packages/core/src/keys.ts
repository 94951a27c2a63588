/**
 * Keys and file names. A key that is already a safe name (base64url session ids, UUIDs) is
 * stored as `<key>.json`; any other key as `~<base64url of its UTF-8>.json`. `~` never starts a
 * safe name, and base64url of well-formed UTF-8 is injective, so two keys never share a file.
 * Neither form can contain `/`, `\`, NUL or be `.`/`..`, so no key ever leaves the directory.
 * With encryption, a key's file is `<HMAC-SHA-256 of the key, base64url>.enc` instead: the name
 * reveals nothing of the key, and cannot be turned back into it (the key is inside the file).
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'

/** Longest file name we create, so that temp and quarantine names stay under 255 bytes. */
const MAX_NAME_BYTES = 200
const EXTENSION = '.json'
const ENCODED_PREFIX = '~'
const SAFE_KEY = /^[A-Za-z0-9_-]+$/
const SAFE_NAME = /^[A-Za-z0-9_-]+\.json$/
const ENCODED_NAME = /^~[A-Za-z0-9_-]+\.json$/

/** Why a key cannot be stored, or `undefined` when it can. */
export function invalidKeyReason(key: unknown): string | undefined {
  if (typeof key !== 'string') return `must be a string, got ${typeof key}`
  if (key.length === 0) return 'must not be empty'
  if (!key.isWellFormed()) return 'must not contain lone surrogates'
  return undefined
}

/** The file name of a valid key, or `undefined` when the name would be too long. */
export function keyToFileName(key: string): string | undefined {
  const name = SAFE_KEY.test(key)
    ? key + EXTENSION
    : ENCODED_PREFIX + Buffer.from(key, 'utf8').toString('base64url') + EXTENSION
  return name.length <= MAX_NAME_BYTES ? name : undefined
}

/** The key stored in a file name, or `undefined` for temp, quarantined and foreign files. */
export function fileNameToKey(name: string): string | undefined {
  if (name.length > MAX_NAME_BYTES) return undefined
  if (SAFE_NAME.test(name)) return name.slice(0, -EXTENSION.length)
  if (!ENCODED_NAME.test(name)) return undefined
  const key = Buffer.from(name.slice(1, -EXTENSION.length), 'base64url').toString('utf8')
  // Only the canonical encoding of a key is ours: `~YQ.json` is "a", `~YR.json` is foreign.
  return keyToFileName(key) === name ? key : undefined
}

const SEALED_EXTENSION = '.enc'
const SEALED_NAME = /^[A-Za-z0-9_-]{43}\.enc$/

/** The name of an encrypted entry's file, from the keyed hash of its key. */
export function sealedFileName(hash: string): string {
  return hash + SEALED_EXTENSION
}

/** Whether `name` is the name of an encrypted entry's file (whichever key named it). */
export function isSealedName(name: string): boolean {
  return SEALED_NAME.test(name)
}

/**
 * `.<name>.h<pid space>.<pid>.<unique>.tmp`; the pid space is missing from the names of
 * earlier versions, which read the names of this one as theirs (the pid space is in `<name>`
 * for them).
 */
const TEMP_NAME = /^\..+?\.(?:h([0-9a-f]{8})\.)?(\d+)\.[0-9a-f]+\.tmp$/

/**
 * Where this process's pid means something: 8 hex digits of a hash of the host name and of the
 * pid namespace (Linux's `/proc/self/ns/pid`). On a directory several hosts share, or several
 * containers with pids of their own, each has its own, and a pid from another is not checked.
 */
export const PID_SPACE = pidSpace()

function pidSpace(): string {
  let namespace = ''
  try {
    namespace = fs.readlinkSync('/proc/self/ns/pid')
  } catch {
    // Not Linux: the host name alone.
  }
  return createHash('sha256').update(`${os.hostname()}\0${namespace}`).digest('hex').slice(0, 8)
}

/**
 * A hidden temp name for `name`, unique for this process (its pid space and `pid`) and this
 * writer (`unique`).
 */
export function tempFileName(name: string, unique: string): string {
  return `.${name}.h${PID_SPACE}.${process.pid}.${unique}.tmp`
}

/** The pid that wrote a temp file, or `undefined` if `name` is not one of our temp files. */
export function tempFileWriter(name: string): number | undefined {
  const match = TEMP_NAME.exec(name)
  return match ? Number(match[2]) : undefined
}

/**
 * The pid space (see {@link PID_SPACE}) of the writer of a temp file; `undefined` for a name of
 * an earlier version, which has none, or for a name that is not a temp file.
 */
export function tempFileSpace(name: string): string | undefined {
  return TEMP_NAME.exec(name)?.[1]
}

/** Where a corrupt file is moved: beside it, hidden from listings by its suffix. */
export function quarantineFileName(name: string): string {
  return `${name}.corrupt-${Date.now()}`
}

const QUARANTINE_NAME = /\.corrupt-(\d+)$/

/** Whether a name is a file that was moved aside. */
export function isQuarantineName(name: string): boolean {
  return QUARANTINE_NAME.test(name)
}

/** When the file `name` was moved aside (ms since the epoch), if it is one that was. */
export function quarantinedAt(name: string): number | undefined {
  const match = QUARANTINE_NAME.exec(name)
  return match ? Number(match[1]) : undefined
}

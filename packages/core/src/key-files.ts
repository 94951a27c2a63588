/**
 * Where a program outside the app (the command lines of this package and of the session
 * stores) finds the encryption keys: the environment variable JSON_FILE_REPOSITORY_KEY (one
 * key) or key files (one key a line), never an argument, which `ps` shows to every user of the
 * machine. Each key is then parsed as the library parses the `encryption.keys` it is given
 * (surrounding whitespace is no part of a key, see encryption.ts), so a key file read by the
 * app and by the command line gives the same key.
 */
import fs from 'node:fs'
import { decodedKey, parseKey } from './encryption'

/** The variable that holds the key, when no key file is given. */
export const KEY_VARIABLE = 'JSON_FILE_REPOSITORY_KEY'

/**
 * The keys of the key files `keyFiles`, in order (in each file, one key a line, blank lines
 * skipped; the first key of all is the current one), or, without key files, the key in the
 * environment variable `JSON_FILE_REPOSITORY_KEY`; `undefined` when neither gives any. Keys are
 * never split on commas: a secret may hold one.
 * @throws {Error} When a key file cannot be read or holds no key, when the variable holds
 *   several lines or what looks like several comma-separated keys, or when a key is neither a
 *   32-byte key nor a secret of 32 characters or more (the message never shows a key).
 */
export function readEncryptionKeys(
  keyFiles: readonly string[] = [],
  environment: Record<string, string | undefined> = process.env,
): string[] | undefined {
  const keys: string[] = []
  for (const file of keyFiles) {
    let text: string
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch (error) {
      throw new Error(`cannot read the key file ${file}: ${(error as Error).message}`)
    }
    const found = text.split(/\r?\n/).filter((line) => line.trim() !== '')
    if (found.length === 0) throw new Error(`the key file ${file} holds no key`)
    for (const [n, key] of found.entries()) checkKey(key, `line ${n + 1} of the key file ${file}`)
    keys.push(...found.map((key) => key.trim()))
  }
  if (keyFiles.length > 0) return keys
  const key = environment[KEY_VARIABLE]?.trim()
  if (!key) return undefined
  if (/[\r\n]/.test(key)) {
    throw new Error(
      `the variable ${KEY_VARIABLE} holds several lines: it holds one key; give several in a key file, one a line (--key-file)`,
    )
  }
  // A list of keys, as some tools take them, is not one long secret: say so.
  const parts = key.split(',')
  if (parts.length > 1 && parts.every((part) => decodedKey(part.trim()))) {
    throw new Error(
      `the variable ${KEY_VARIABLE} holds one key, not a comma-separated list; give several in a key file, one a line (--key-file)`,
    )
  }
  checkKey(key, `the variable ${KEY_VARIABLE}`)
  return [key]
}

function checkKey(key: string, where: string): void {
  try {
    parseKey(key)
  } catch {
    throw new Error(
      `${where} holds no valid key: it takes 32-byte keys (64 hex or 43-44 base64 digits) or secrets of at least 32 characters`,
    )
  }
}

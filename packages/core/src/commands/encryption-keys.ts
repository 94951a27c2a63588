/**
 * Where the command line finds the encryption keys: the environment variable
 * JSON_FILE_REPOSITORY_KEY (one key) or the files named by --key-file (one key a line; the
 * option may be given several times), never an argument, which `ps` shows to every user of the
 * machine (see key-files.ts). Without keys, it refuses to work blind on encrypted entries.
 */
import { readNames } from '../directory'
import type { EncryptionOptions } from '../encryption'
import { KEY_VARIABLE, readEncryptionKeys } from '../key-files'
import { isSealedName } from '../keys'
import { type Command, Failure, UsageError, type Values } from './command'

export { KEY_VARIABLE }

const HOW = `give the key in ${KEY_VARIABLE}, or the keys in files named by --key-file (one key a line, the current one first)`

/**
 * The `encryption` option for `command` on `directory`: the keys, or none when no key is given.
 * Unencrypted files are read only by a command that encrypts them (`encrypt`, and a `legacy`
 * conversion), in the transition `'encrypting'` since `--since` (default: now), and by
 * `decrypt`; any other command given keys reads encrypted entries only, as servers do.
 * @throws {Failure} When a key file cannot be read or holds no key, a key is invalid, or keys
 * are needed and none is given.
 * @throws {UsageError} When `--since` is not a time, or given to a command that reads no
 * unencrypted file.
 */
export async function encryptionFor(
  command: Command,
  directory: string,
  values: Values,
  legacy: boolean,
): Promise<EncryptionOptions | undefined> {
  const keys = readKeys(values['key-file'])
  const encrypting = keys !== undefined && (command.keys === 'encrypting' || legacy)
  if (values.since !== undefined && !encrypting) {
    throw new UsageError('--since goes with the keys, and with encrypt or a legacy conversion')
  }
  if (keys !== undefined) {
    if (command.keys === 'decrypting') return { keys, transition: 'decrypting' }
    if (!encrypting) return { keys }
    const since = sinceOf(values.since)
    return { keys, transition: 'encrypting', ...(since === undefined ? {} : { since }) }
  }
  if (command.keys === 'encrypting' || command.keys === 'decrypting') {
    throw new Failure(`this command needs the encryption keys: ${HOW}`)
  }
  if (command.keys !== 'optional' && (await holdsEncryptedEntries(directory))) {
    throw new Failure(`${directory} holds encrypted entries: ${HOW}`)
  }
  return undefined
}

/**
 * The time `--since` gives (see `EncryptionOptions.since`): an ISO 8601 date and time, or
 * milliseconds since the epoch.
 * @throws {UsageError} When it is neither.
 */
function sinceOf(value: Values[string]): number | undefined {
  if (value === undefined) return undefined
  const text = String(value)
  const time = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isSafeInteger(time)) {
    throw new UsageError(
      `--since wants a date and time (2026-12-04T20:00:00Z) or milliseconds, got ${JSON.stringify(text)}`,
    )
  }
  return time
}

/** The keys of the --key-file options (parsed with `multiple`), else of the variable. */
function readKeys(keyFiles: Values[string]): string[] | undefined {
  try {
    return readEncryptionKeys((keyFiles as string[] | undefined) ?? [])
  } catch (error) {
    throw new Failure((error as Error).message)
  }
}

/**
 * Whether any name in `directory` is an encrypted entry's: stops at the first one. A directory
 * that cannot be listed says no: the command then fails on it with its own message.
 */
async function holdsEncryptedEntries(directory: string): Promise<boolean> {
  try {
    for await (const name of readNames(directory)) if (isSealedName(name)) return true
  } catch {}
  return false
}

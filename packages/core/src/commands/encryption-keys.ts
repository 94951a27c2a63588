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
import { type Command, Failure, type Values } from './command'

export { KEY_VARIABLE }

const HOW = `give the key in ${KEY_VARIABLE}, or the keys in files named by --key-file (one key a line, the current one first)`

/**
 * The `encryption` option for `command` on `directory`: the keys, with the transition the
 * command writes (reading both forms), or none when no key is given.
 * @throws {Failure} When a key file cannot be read or holds no key, a key is invalid, or keys
 * are needed and none is given.
 */
export async function encryptionFor(
  command: Command,
  directory: string,
  values: Values,
): Promise<EncryptionOptions | undefined> {
  const keys = readKeys(values['key-file'])
  if (keys !== undefined) {
    return { keys, transition: command.keys === 'decrypting' ? 'decrypting' : 'encrypting' }
  }
  if (command.keys === 'encrypting' || command.keys === 'decrypting') {
    throw new Failure(`this command needs the encryption keys: ${HOW}`)
  }
  if (command.keys !== 'optional' && (await holdsEncryptedEntries(directory))) {
    throw new Failure(`${directory} holds encrypted entries: ${HOW}`)
  }
  return undefined
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

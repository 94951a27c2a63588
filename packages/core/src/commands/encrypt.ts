import { type Command, count, print } from './command'

/**
 * `encrypt` or `decrypt`: moves every entry to the form `direction` names, with `rekey()`.
 * The keys come with `transition` set to it (see encryption-keys.ts).
 */
function moveCommand(direction: 'encrypt' | 'decrypt', summary: string, what: string): Command {
  return {
    usage: direction === 'encrypt' ? 'encrypt <dir> [--since <time>]' : 'decrypt <dir>',
    summary,
    help: `${what}, keeping its expiry.
Safe while servers use the directory (configure them with the same keys and
transition: '${direction}ing' first); idempotent. Prints how many entries were moved.${
      direction === 'encrypt'
        ? `
An unencrypted file changed at or after --since (an ISO date and time, or ms; default:
now) is not encrypted: anyone who can write the directory could have planted it. Give
the servers' encryption.since.`
        : ''
    }
The key comes from JSON_FILE_REPOSITORY_KEY, or the keys from --key-file (one a line,
current first; the option may be repeated).`,
    options: {},
    args: [0, 0],
    keys: `${direction}ing`,
    writes: () => true,
    async run(repository) {
      await print(`${direction}ed ${count(await repository.rekey(), 'entry', 'entries')}`)
    },
  }
}

export const encrypt = moveCommand(
  'encrypt',
  'encrypt every entry with the current key (turning encryption on, or rotating keys)',
  `Moves every unencrypted entry, and every entry encrypted with a previous key, to a file
encrypted with the current (first) key and named by a keyed hash of its key`,
)

export const decrypt = moveCommand(
  'decrypt',
  'decrypt every entry into a plain JSON file (turning encryption off)',
  'Moves every encrypted entry to a plain JSON file named after its key',
)

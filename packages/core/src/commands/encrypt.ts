import { type Command, print } from './command'

export const encrypt: Command = {
  usage: 'encrypt <dir>',
  summary: 'encrypt every entry with the current key (turning encryption on, or rotating keys)',
  help: `Moves every unencrypted entry, and every entry encrypted with a previous key, to a file
encrypted with the current (first) key and named by a keyed hash of its key, keeping its expiry.
Safe while servers use the directory (configure them with the same keys and
transition: 'encrypting' first); idempotent. Prints how many entries were moved.
The keys come from JSON_FILE_REPOSITORY_KEY (comma-separated, current first) or --key-file.`,
  options: {},
  args: [0, 0],
  keys: 'encrypting',
  async run(repository) {
    await print(`encrypted ${await repository.rekey()}`)
  },
}

import { type Command, print } from './command'

export const decrypt: Command = {
  usage: 'decrypt <dir>',
  summary: 'decrypt every entry into a plain JSON file (turning encryption off)',
  help: `Moves every encrypted entry to a plain JSON file named after its key, keeping its expiry.
Safe while servers use the directory (configure them with the same keys and
transition: 'decrypting' first); idempotent. Prints how many entries were moved.
The keys come from JSON_FILE_REPOSITORY_KEY (comma-separated) or --key-file.`,
  options: {},
  args: [0, 0],
  keys: 'decrypting',
  async run(repository) {
    await print(`decrypted ${await repository.rekey()}`)
  },
}

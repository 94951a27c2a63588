import { type Command, print } from './command'

export const prune: Command = {
  usage: 'prune <dir>',
  summary: 'remove expired entries and stale temp files',
  help: `Removes the files of expired entries (deciding from their time stamps, without reading
them) and the temp files of writers that crashed. Prints how many entries were removed.`,
  options: {},
  args: [0, 0],
  keys: 'optional',
  async run(repository) {
    await print(`pruned ${await repository.prune()}`)
  },
}

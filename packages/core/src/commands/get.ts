import { type Command, Failure, print } from './command'

export const get: Command = {
  usage: 'get <dir> <key>',
  summary: 'the value of an entry, as JSON',
  help: 'Prints the value of <key> as indented JSON. Exits with 1 when there is none.',
  options: {},
  args: [1, 1],
  async run(repository, [key]) {
    const value = await repository.get(key as string)
    if (value === undefined) throw new Failure(`no entry for key ${JSON.stringify(key)}`)
    await print(JSON.stringify(value, null, 2))
  },
}

import { type Command, print } from './command'

export const exportCommand: Command = {
  usage: 'export <dir>',
  summary: 'every live entry as NDJSON, for import or another store',
  help: `Prints every live entry as one JSON object a line: {"key","value","expiresAt"}, the
expiry in ms since the epoch (null: never). Streams the directory, so memory stays flat, and
changes nothing: expired and corrupt files are skipped and left in place. Load it back with
import, into this directory or another.`,
  options: {},
  args: [0, 0],
  async run(repository) {
    for await (const key of repository.keys()) {
      const entry = await repository.getEntry(key)
      if (entry === undefined) continue
      await print(JSON.stringify({ key, value: entry.value, expiresAt: entry.expiresAt ?? null }))
    }
  },
}

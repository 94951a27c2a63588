import { type Command, keyField, liveEntries, print, time } from './command'

export const ls: Command = {
  usage: 'ls <dir> [--expired] [--json]',
  summary: 'one line per entry: key, size, expiry, change time',
  help: `Lists the live entries, one a line: key, size in bytes, expiry and change time,
separated by tabs. --expired lists the expired entries that are not yet pruned instead.
--json prints one JSON object a line: {"key","size","expiresAt","changedAt"} in ms (null:
never). Streams the directory: output starts at once, whatever it holds. Each live entry is
read, so that a corrupt file is not listed (it is reported on stderr, and left in place).`,
  options: { expired: { type: 'boolean' }, json: { type: 'boolean' } },
  args: [0, 0],
  async run(repository, _args, values) {
    // A live entry is read, so that a corrupt file is not listed; an expired one is not.
    const entries = values.expired ? repository.list({ expired: true }) : liveEntries(repository)
    for await (const { key, size, expiresAt, changedAt } of entries) {
      await print(
        values.json
          ? JSON.stringify({ key, size, expiresAt: expiresAt ?? null, changedAt })
          : [
              keyField(key),
              size,
              expiresAt === undefined ? 'never' : time(expiresAt),
              time(changedAt),
            ].join('\t'),
      )
    }
  },
}

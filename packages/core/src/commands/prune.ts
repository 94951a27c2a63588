import { type Command, count, print } from './command'

export const prune: Command = {
  usage: 'prune <dir> [--json]',
  summary: 'remove expired entries, stale temp files and old quarantined files',
  help: `Removes the files of expired entries (deciding from their time stamps, without reading
them), the temp files of writers that crashed, and the files moved aside as corrupt
(*.corrupt-<ms>) more than 7 days before, and prints how many of each it removed
(--json: {"expired","tempFiles","quarantined"}). It changes no other file.`,
  options: { json: { type: 'boolean' } },
  args: [0, 0],
  keys: 'optional',
  writes: () => true,
  async run(repository, _args, values) {
    const expired = await repository.prune()
    const { tempFilesRemoved: tempFiles, quarantinedRemoved: quarantined } = repository.stats()
    await print(
      values.json
        ? JSON.stringify({ expired, tempFiles, quarantined })
        : `pruned ${count(expired, 'expired entry', 'expired entries')}, ${count(tempFiles, 'stale temp file', 'stale temp files')}, ${count(quarantined, 'quarantined file', 'quarantined files')}`,
    )
  },
}

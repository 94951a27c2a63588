import fs from 'node:fs'
import { legacyFileNameToKey } from '../earlier-stores/formats'
import { isExpired } from '../expiry'
import { isQuarantineName, tempFileWriter } from '../keys'
import type { EntryInfo } from '../types'
import { type Command, keyField, print, time } from './command'

export const stats: Command = {
  usage: 'stats <dir> [--json]',
  summary: 'counts, bytes and ages of the entries',
  help: `Counts the live entries (each is read: a corrupt file is none, reported on stderr) and
the expired ones, the bytes of all entry files, the oldest and the newest live entry (by change
time), the quarantined (*.corrupt-*) and the temp files, and the files that look like those of
@itrocks/fastify-file-session-store 0.3 (named <id>, no extension: see --legacy and the migrate
command).`,
  options: { json: { type: 'boolean' } },
  args: [0, 0],
  async run(repository, _args, values) {
    const now = Date.now()
    let entries = 0
    let expired = 0
    let bytes = 0
    let oldest: EntryInfo | undefined
    let newest: EntryInfo | undefined
    for await (const listed of repository.list()) {
      bytes += listed.size
      if (isExpired(listed.expiresAt, now)) {
        expired++
        continue
      }
      // Read, so that a corrupt file (reported on stderr, left in place) is no entry.
      const info = await repository.getEntry(listed.key)
      if (info === undefined) continue
      entries++
      if (!oldest || info.changedAt < oldest.changedAt) oldest = info
      if (!newest || info.changedAt > newest.changedAt) newest = info
    }
    let quarantined = 0
    let tempFiles = 0
    let legacyFiles = 0
    for await (const { name } of await fs.promises.opendir(repository.directory)) {
      if (isQuarantineName(name)) quarantined++
      else if (tempFileWriter(name) !== undefined) tempFiles++
      else if (legacyFileNameToKey(name) !== undefined) legacyFiles++
    }
    if (values.json) {
      const at = (info?: EntryInfo) => (info ? { key: info.key, changedAt: info.changedAt } : null)
      const counts = { entries, expired, bytes, oldest: at(oldest), newest: at(newest) }
      await print(JSON.stringify({ ...counts, quarantined, tempFiles, legacyFiles }))
      return
    }
    const at = (info?: EntryInfo) => (info ? `${time(info.changedAt)}  ${keyField(info.key)}` : '-')
    const rows: [string, string | number][] = [
      ['entries', entries],
      ['expired', expired],
      ['bytes', bytes],
      ['oldest', at(oldest)],
      ['newest', at(newest)],
      ['quarantined', quarantined],
      ['temp files', tempFiles],
      ['legacy files', legacyFiles],
    ]
    await print(rows.map(([name, value]) => `${`${name}:`.padEnd(14)}${value}`).join('\n'))
  },
}

import fs from 'node:fs'
import { MemoryStore } from '@fastify/session'
import { describeSessionStore } from '@json-file-repository/test-helpers'
import { FileStore, type FileStoreOptions } from 'fastify-file-session-store'
import { call, fastifySessions, temporaryDirectory } from './app'

describeSessionStore(fastifySessions, 'MemoryStore (the oracle)', () => {
  // MemoryStore keeps its sessions in the Map it is given, and has no `length`.
  const sessions = new Map()
  return {
    store: new MemoryStore(sessions),
    stored: async () => sessions.size,
    close: async () => {},
  }
})

const configurations: [string, Omit<FileStoreOptions, 'directory'>][] = [
  ['FileStore with its defaults', {}],
  ['FileStore without fsync and without cache', { fsync: false, cache: false }],
  ['FileStore with a one-entry cache', { cache: { maxEntries: 1 } }],
  ['FileStore with touchAfter 0', { touchAfter: 0, fsync: false }],
]

for (const [name, options] of configurations) {
  describeSessionStore(fastifySessions, name, () => {
    const directory = temporaryDirectory('file-store')
    const store = new FileStore({ directory, ...options })
    return {
      store,
      stored: async () => (await call<number>((done) => store.length(done))) as number,
      close: async () => {
        await store.close()
        fs.rmSync(directory, { recursive: true, force: true })
      },
    }
  })
}

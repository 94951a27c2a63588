import fs from 'node:fs'
import { MemoryStore } from '@fastify/session'
import { FileStore, type FileStoreOptions } from 'fastify-file-session-store'
import { temporaryDirectory } from './app'
import { describeSessionStore } from './session-store.contract'

describeSessionStore('MemoryStore (the oracle)', () => ({
  store: new MemoryStore(),
  close: async () => {},
}))

const configurations: [string, Omit<FileStoreOptions, 'directory'>][] = [
  ['FileStore with its defaults', {}],
  ['FileStore without fsync and without cache', { fsync: false, cache: false }],
  ['FileStore with a one-entry cache', { cache: { maxEntries: 1 } }],
  ['FileStore with touchAfter 0', { touchAfter: 0, fsync: false }],
]

for (const [name, options] of configurations) {
  describeSessionStore(name, () => {
    const directory = temporaryDirectory('file-store')
    const store = new FileStore({ directory, ...options })
    return {
      store,
      close: async () => {
        await store.close()
        fs.rmSync(directory, { recursive: true, force: true })
      },
    }
  })
}

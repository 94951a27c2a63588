import { describeSessionStore } from '@json-file-repository/test-helpers'
import { FileStore, type FileStoreOptions } from 'express-file-session-store'
import { MemoryStore, type Store } from 'express-session'
import { call, expressSessions, makeTempDirectory, removeDirectory } from './app'

/** How many sessions an express-session store holds (MemoryStore and FileStore have `length`). */
const stored = (store: Store) => async () =>
  (await call<number>((done) => store.length?.(done))) as number

describeSessionStore(expressSessions, 'MemoryStore (the oracle)', () => {
  const store = new MemoryStore()
  return { store, stored: stored(store), close: async () => {} }
})

const configurations: [string, Omit<FileStoreOptions, 'directory'>][] = [
  ['FileStore with its defaults', {}],
  ['FileStore without fsync and without cache', { fsync: false, cache: false }],
  ['FileStore with touchAfter 0', { touchAfter: 0, fsync: false }],
]

for (const [name, options] of configurations) {
  describeSessionStore(expressSessions, name, () => {
    const directory = makeTempDirectory('express-store')
    const store = new FileStore({ directory, ...options })
    return {
      store,
      stored: stored(store),
      close: async () => {
        await store.close()
        removeDirectory(directory)
      },
    }
  })
}

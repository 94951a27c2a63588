import { FileStore, type FileStoreOptions } from 'express-file-session-store'
import { MemoryStore } from 'express-session'
import { makeTempDirectory, removeDirectory } from './app'
import { describeExpressSessionStore } from './session-store.contract'

describeExpressSessionStore('MemoryStore (the oracle)', () => ({
  store: new MemoryStore(),
  close: async () => {},
}))

const configurations: [string, Omit<FileStoreOptions, 'directory'>][] = [
  ['FileStore with its defaults', {}],
  ['FileStore without fsync and without cache', { fsync: false, cache: false }],
  ['FileStore with touchAfter 0', { touchAfter: 0, fsync: false }],
]

for (const [name, options] of configurations) {
  describeExpressSessionStore(name, () => {
    const directory = makeTempDirectory('express-store')
    const store = new FileStore({ directory, ...options })
    return {
      store,
      close: async () => {
        await store.close()
        removeDirectory(directory)
      },
    }
  })
}

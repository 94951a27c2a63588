/**
 * The adapter as npm users get it (see the test helpers' packing.ts): packed, checked as a
 * registry would see it, its dependencies and peer dependency checked against what it imports
 * and is tested with, and installed with npm (with the packed core) into a fresh project beside
 * express-session, loaded with `require`, with ESM `import`, and type-checked.
 */
import fs from 'node:fs'
import path from 'node:path'
import {
  describePublished,
  importsOf,
  PACKING_TIMEOUT,
  packed,
  run,
  sourceManifest,
  typeCheck,
  typeErrors,
} from '@json-file-repository/test-helpers'

const packedPackage = packed('express-file-session-store', 'json-file-repository')

describePublished('express-file-session-store', packedPackage)

test(
  'the packed Express adapter installs with npm beside express-session and works from require, import and TypeScript',
  () => {
    const project = path.join(packedPackage.directory(), 'express-project')
    fs.mkdirSync(project)
    run('npm', ['init', '-y'], project)
    const tarballs = (['json-file-repository', 'express-file-session-store'] as const).map(
      (name) => packedPackage(name).tarball,
    )
    const peers = ['express-session@^1.18.0', '@types/express-session@^1.18.0']
    run('npm', ['install', '--no-audit', '--no-fund', ...tarballs, ...peers], project)

    const cjs = `
    const session = require('express-session')
    const { FileStore, fingerprint } = require('express-file-session-store')
    const store = new FileStore({ directory: 'sessions-cjs', fsync: false })
    const cookie = { originalMaxAge: null, expires: null }
    store.set('abc', { cookie, from: 'require' }, (error) => {
      if (error) throw error
      store.get('abc', (_, loaded) => {
        console.log(JSON.stringify({ store: store instanceof session.Store, from: loaded.from, fingerprint: typeof fingerprint }))
        store.close()
      })
    })
  `
    expect(JSON.parse(run(process.execPath, ['-e', cjs], project))).toEqual({
      store: true,
      from: 'require',
      fingerprint: 'function',
    })

    fs.writeFileSync(
      path.join(project, 'esm.mjs'),
      `import session from 'express-session'
    import { FileStore, JsonFileRepositoryError } from 'express-file-session-store'
    const store = new FileStore('sessions-esm')
    const length = await new Promise((resolve) => store.length((_, n) => resolve(n)))
    console.log(JSON.stringify({ store: store instanceof session.Store, length, error: typeof JsonFileRepositoryError }))
    await store.close()
    `,
    )
    expect(JSON.parse(run(process.execPath, ['esm.mjs'], project))).toEqual({
      store: true,
      length: 0,
      error: 'function',
    })

    fs.writeFileSync(
      path.join(project, 'check.ts'),
      `import session from 'express-session'
    import { FileStore, type FileStoreOptions } from 'express-file-session-store'
    const options: FileStoreOptions = { directory: 'sessions', ttl: 3_600_000, cache: { maxEntries: 10 } }
    export const middleware = session({ secret: 's', resave: false, saveUninitialized: false, store: new FileStore(options) })
    `,
    )
    fs.writeFileSync(
      path.join(project, 'wrong.ts'),
      `import { FileStore } from 'express-file-session-store'
    export const wrong: string = new FileStore('sessions').directory.length
    `,
    )
    expect(typeCheck(project, 'check.ts')).toBe('')
    expect(typeErrors(project, 'wrong.ts')).toMatch(/wrong\.ts\(2,\d+\): error TS2322/)
  },
  PACKING_TIMEOUT,
)

test('the packed Express adapter declares its tested peer and every package its declarations import', () => {
  const packedAdapter = packedPackage('express-file-session-store')
  const { manifest } = packedAdapter
  const tested = sourceManifest('express-file-session-store')
  // express-session 1.18 and on; the tests run the newest.
  expect(manifest.peerDependencies).toEqual({
    'express-session': '^1.18.0',
    '@types/express-session': '^1.18.0',
  })
  expect(tested.devDependencies['express-session']).toMatch(/^\^1\.(1[89]|[2-9]\d)\./)
  expect(manifest.peerDependenciesMeta).toEqual({ '@types/express-session': { optional: true } })
  const core = sourceManifest('json-file-repository')
  expect(manifest.dependencies).toEqual({ 'json-file-repository': `^${core.version}` })
  const imported = importsOf(packedAdapter)
  expect([...imported].sort()).toEqual(['express-session', 'json-file-repository'])
})

/**
 * The adapter's manifest as npm users get it: packed with `pnpm pack` (which rewrites the
 * `workspace:` range), `fastify` and `@fastify/session` declared as peer dependencies with the
 * ranges the tests run, and every package its type declarations import declared.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { temporaryDirectory } from './app'

const packageDirectory = path.resolve(__dirname, '..')
const root = path.resolve(packageDirectory, '..', '..')

let directory: string
beforeAll(() => {
  directory = temporaryDirectory('adapter-package')
})
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }))

test('the packed manifest declares fastify and @fastify/session as tested peer dependencies', () => {
  // The declarations, built into a temp directory: the package's dist is other tests'.
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const dist = path.join(directory, 'dist')
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dist], {
    cwd: packageDirectory,
  })
  execFileSync('pnpm', ['pack', '--pack-destination', directory], { cwd: packageDirectory })
  const [tarball] = fs.readdirSync(directory).filter((name) => name.endsWith('.tgz'))
  const manifest = JSON.parse(
    execFileSync(
      'tar',
      ['-xzOf', path.join(directory, tarball as string), 'package/package.json'],
      {
        encoding: 'utf8',
      },
    ),
  )
  const tested = JSON.parse(fs.readFileSync(path.join(packageDirectory, 'package.json'), 'utf8'))
  expect(manifest.peerDependencies).toEqual({
    '@fastify/session': tested.devDependencies['@fastify/session'],
    fastify: tested.devDependencies.fastify,
  })
  const core = JSON.parse(fs.readFileSync(path.join(root, 'packages/core/package.json'), 'utf8'))
  expect(manifest.dependencies).toEqual({ 'json-file-repository': `^${core.version}` })

  const imported = new Set<string>()
  for (const name of fs.readdirSync(dist).filter((name) => name.endsWith('.d.ts'))) {
    const text = fs.readFileSync(path.join(dist, name), 'utf8')
    for (const [, specifier] of text.matchAll(/from '([^.][^']*)'/g))
      imported.add(specifier as string)
  }
  expect([...imported].sort()).toEqual(['@fastify/session', 'fastify', 'json-file-repository'])
  const declared = { ...manifest.dependencies, ...manifest.peerDependencies }
  for (const specifier of imported) expect(declared).toHaveProperty([specifier])
}, 120_000)

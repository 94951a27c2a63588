import {
  describePublished,
  importsOf,
  packed,
  sourceManifest,
} from '@json-file-repository/test-helpers'

const packedPackage = packed('fastify-file-session-store')

describePublished('fastify-file-session-store', packedPackage)

test('the packed adapter declares its tested peers and every package its declarations import', () => {
  const packedAdapter = packedPackage('fastify-file-session-store')
  const { manifest } = packedAdapter
  const tested = sourceManifest('fastify-file-session-store')
  // The app's own fastify and @fastify/session, in the ranges the tests run.
  expect(manifest.peerDependencies).toEqual({
    '@fastify/session': tested.devDependencies['@fastify/session'],
    fastify: tested.devDependencies.fastify,
  })
  const core = sourceManifest('json-file-repository')
  expect(manifest.dependencies).toEqual({ 'json-file-repository': `^${core.version}` })
  const imported = importsOf(packedAdapter)
  expect([...imported].sort()).toEqual([
    '@fastify/session',
    'fastify',
    'json-file-repository',
    'node:stream',
  ])
  const declared = { ...manifest.dependencies, ...manifest.peerDependencies }
  for (const specifier of imported) {
    if (!specifier.startsWith('node:')) expect(declared).toHaveProperty([specifier])
  }
})

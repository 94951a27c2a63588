/**
 * Two processes on one directory, each with its cache: a change made by one is seen by the
 * other's next read, whichever of them made it.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { JsonFileRepository } from 'json-file-repository'
import { builtPackage, makeTempDirectory, removeDirectory } from './helpers'
import { Peer } from './peer'

// Two processes: sized for a loaded machine.
jest.setTimeout(120_000)

let directory: string
let peer: Peer
let local: JsonFileRepository<unknown>

beforeAll(async () => {
  directory = makeTempDirectory('two-processes')
  peer = new Peer(builtPackage(), directory)
  local = new JsonFileRepository(directory)
  await peer.ready
})
afterAll(async () => {
  await peer.stop()
  await local.close()
  removeDirectory(directory)
})

test('a write in another process is seen by the next get() of a process that has the key cached', async () => {
  await local.set('shared', { views: 1 })
  await expect(local.get('shared')).resolves.toEqual({ views: 1 })
  expect(local.stats().hits).toBeGreaterThan(0)
  // Same size, written within the same millisecond as far as the cache can tell.
  await peer.call('set', 'shared', { views: 2 })
  await expect(local.get('shared')).resolves.toEqual({ views: 2 })
  await peer.call('set', 'shared', { views: 3 })
  await expect(local.get('shared')).resolves.toEqual({ views: 3 })
})

test('a write in this process is seen by the next get() of another process that has the key cached', async () => {
  await local.set('mine', 'first')
  expect((await peer.call('get', 'mine')).result).toBe('first')
  const cached = await peer.call('get', 'mine')
  expect(cached.result).toBe('first')
  await local.set('mine', 'other')
  expect((await peer.call('get', 'mine')).result).toBe('other')
  expect(cached.stats?.hits).toBeGreaterThan(0)
})

test('a delete in one process is a miss in the other’s next get(), both ways', async () => {
  await local.set('gone', { a: 1 })
  await expect(local.get('gone')).resolves.toEqual({ a: 1 })
  expect((await peer.call('delete', 'gone')).result).toBe(true)
  await expect(local.get('gone')).resolves.toBeUndefined()
  await expect(local.has('gone')).resolves.toBe(false)

  await peer.call('set', 'gone2', { b: 2 })
  expect((await peer.call('get', 'gone2')).result).toEqual({ b: 2 })
  await expect(local.delete('gone2')).resolves.toBe(true)
  expect((await peer.call('get', 'gone2')).result).toBeNull()
  expect((await peer.call('has', 'gone2')).result).toBe(false)
})

test('an expiry moved in one process is seen by the other, and an expiry in the past is a miss', async () => {
  const expiresAt = Date.now() + 3_600_000
  await local.set('session', { user: 'ada' }, { expiresAt })
  await expect(local.get('session')).resolves.toEqual({ user: 'ada' })
  expect((await peer.call('touch', 'session', expiresAt + 60_000)).result).toBe(true)
  expect((await local.getEntry('session'))?.expiresAt).toBe(expiresAt + 60_000)
  expect((await peer.call('touch', 'session', Date.now() - 1000)).result).toBe(true)
  await expect(local.get('session')).resolves.toBeUndefined()
  expect(fs.existsSync(local.path('session'))).toBe(false)
})

test('many alternating writes from two processes: each next get() sees the last one', async () => {
  for (let n = 0; n < 20; n++) {
    if (n % 2 === 0) await local.set('counter', { n })
    else await peer.call('set', 'counter', { n })
    await expect(local.get('counter')).resolves.toEqual({ n })
    expect((await peer.call('get', 'counter')).result).toEqual({ n })
  }
})

test('a repository with pruneInterval does not keep its process alive', () => {
  const dist = builtPackage()
  // A timer that kept the process alive would keep it for ten minutes: far longer than the
  // minute given here to a loaded machine to start Node and exit.
  const script = `const { JsonFileRepository } = require(${JSON.stringify(dist)}); new JsonFileRepository(${JSON.stringify(path.join(directory, 'timer'))}, { pruneInterval: 600_000 })`
  const result = spawnSync(process.execPath, ['-e', script], { timeout: 60_000 })
  expect(result.error).toBeUndefined()
  expect(result.signal).toBeNull()
  expect(result.status).toBe(0)
})

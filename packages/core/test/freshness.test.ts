/**
 * `cache.revalidateAfter`: how fresh a cached read must be. Another process (a real child)
 * writes; this process reads through its cache. Only `Date` is faked, to move the window's
 * clock without waiting: file I/O and timers stay real.
 */
import { JsonFileRepository } from 'json-file-repository'
import { builtPackage, fakeClock, makeTempDirectory, removeDirectory } from './helpers'
import { Peer } from './peer'

jest.setTimeout(60_000)

let root: string
let peer: Peer
let caseNumber = 0
let directory: string
let local: JsonFileRepository<unknown> | undefined

beforeAll(() => {
  root = makeTempDirectory('freshness')
})
afterAll(() => removeDirectory(root))
beforeEach(async () => {
  directory = `${root}/case-${++caseNumber}`
  peer = new Peer(builtPackage(), directory)
  await peer.ready
})
afterEach(async () => {
  jest.useRealTimers()
  await local?.close()
  await peer.stop()
})

function open(revalidateAfter?: number) {
  local = new JsonFileRepository(directory, { cache: { revalidateAfter } })
  return local
}

test('by default every cached read checks the file: another process’s write is seen at once', async () => {
  const repository = open()
  await repository.set('k', { v: 1 })
  await expect(repository.get('k')).resolves.toEqual({ v: 1 })
  await peer.call('set', 'k', { v: 2 })
  await expect(repository.get('k')).resolves.toEqual({ v: 2 })
})

test('with a window, a cached entry is served without a look at its file until the window has passed, then the other process’s write is seen', async () => {
  const clock = fakeClock()
  const repository = open(1000)
  await repository.set('k', { v: 1 })
  await peer.call('set', 'k', { v: 2 })
  // Within the window: the snapshot is served as it is (this is what the window gives up).
  await expect(repository.get('k')).resolves.toEqual({ v: 1 })
  clock.advance(999)
  await expect(repository.get('k')).resolves.toEqual({ v: 1 })
  expect(repository.stats()).toMatchObject({ hits: 2, misses: 0 })
  // Past the window: the file is checked, found changed and read.
  clock.advance(2)
  await expect(repository.get('k')).resolves.toEqual({ v: 2 })
  expect(repository.stats()).toMatchObject({ misses: 1 })
})

test('with a window, a value is never served more than the window after another process changed or deleted it', async () => {
  const clock = fakeClock()
  const repository = open(1000)
  await peer.call('set', 'a', 'old')
  await peer.call('set', 'b', 'old')
  await expect(repository.get('a')).resolves.toBe('old')
  await expect(repository.get('b')).resolves.toBe('old')
  // Checked and found current: the window starts again from this check, not from the read.
  clock.advance(800)
  await expect(repository.get('a')).resolves.toBe('old')
  clock.advance(800)
  await expect(repository.get('a')).resolves.toBe('old')
  expect(repository.stats().misses).toBe(2)
  await peer.call('set', 'a', 'new')
  await peer.call('delete', 'b')
  clock.advance(1001)
  await expect(repository.get('a')).resolves.toBe('new')
  await expect(repository.get('b')).resolves.toBeUndefined()
})

test('with a window, this process’s own writes and deletes are seen at once', async () => {
  fakeClock()
  const repository = open(60_000)
  await repository.set('k', 1)
  await expect(repository.get('k')).resolves.toBe(1)
  await repository.set('k', 2)
  await expect(repository.get('k')).resolves.toBe(2)
  await repository.delete('k')
  await expect(repository.get('k')).resolves.toBeUndefined()
})

test('with Infinity, a cached entry is never checked again: another process’s change is not seen while it stays cached', async () => {
  const clock = fakeClock()
  const repository = open(Number.POSITIVE_INFINITY)
  await repository.set('k', 'mine')
  await peer.call('set', 'k', 'theirs')
  clock.advance(365 * 24 * 3_600_000)
  await expect(repository.get('k')).resolves.toBe('mine')
  // An entry it never cached is read from its file as usual.
  await peer.call('set', 'other', 'theirs')
  await expect(repository.get('other')).resolves.toBe('theirs')
})

test('revalidateAfter must be a number of milliseconds from 0 to Infinity', () => {
  for (const revalidateAfter of [-1, Number.NaN, '10' as unknown as number]) {
    expect(() => open(revalidateAfter)).toThrow(TypeError)
    expect(() => open(revalidateAfter)).toThrow(/cache\.revalidateAfter/)
  }
  local = undefined
})

/**
 * The conformance suite of `JsonFileRepository`: the behaviour every configuration must keep.
 * `repository.test.ts` runs it against each configuration (cache on, off and tiny, fsync on and
 * off). Only what a configuration documents differently (the cache skipping unchanged writes)
 * is told apart, through `traits.cache`.
 */
import fs from 'node:fs'
import path from 'node:path'
import {
  type JsonFileRepository,
  JsonFileRepositoryError,
  type JsonFileRepositoryOptions,
} from 'json-file-repository'
import { expiryToMtime } from '../src/expiry'
import {
  fakeClock,
  listNames,
  makeTempDirectory,
  memoryLogger,
  modeOf,
  NOT_THE_CLOCK,
  removeDirectory,
  waitFor,
} from './helpers'

/** Opens a repository in `directory` with the configuration under test, plus `options`. */
export type RepositoryFactory = (
  directory: string,
  options?: JsonFileRepositoryOptions,
) => JsonFileRepository<unknown>

export interface RepositoryTraits {
  /** Whether the configuration has a cache (which lets unchanged sets skip all I/O). */
  cache: boolean
}

/** Matches a rejection with a `JsonFileRepositoryError` of `code`. */
function repositoryError(code: string) {
  return expect.objectContaining({ name: 'JsonFileRepositoryError', code })
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

const past = () => Date.now() - 60_000
const future = () => Date.now() + 3_600_000

/**
 * Makes the entry in `file` expired, as time passing would: its file's modification time, where
 * the expiry is kept, is set to an expiry a minute ago. No wait, so no race with a slow machine.
 */
function expire(file: string): void {
  const mtime = expiryToMtime(past())
  fs.utimesSync(file, mtime, mtime)
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

export function describeRepository(
  name: string,
  factory: RepositoryFactory,
  traits: RepositoryTraits,
): void {
  describe(`JsonFileRepository (${name})`, () => {
    let root: string
    let directory: string
    let opened: JsonFileRepository<unknown>[] = []
    let caseNumber = 0

    /** A repository in this test's directory; closed after the test. */
    function open(options?: JsonFileRepositoryOptions, at = directory) {
      const repository = factory(at, options)
      opened.push(repository)
      return repository
    }

    beforeAll(() => {
      root = makeTempDirectory('contract')
    })
    afterAll(() => removeDirectory(root))
    beforeEach(() => {
      caseNumber++
      // Not created here: the repository creates it, with its mode.
      directory = path.join(root, `case-${caseNumber}`, 'repository')
    })
    afterEach(async () => {
      jest.useRealTimers()
      await Promise.all(opened.map((repository) => repository.close()))
      opened = []
    })

    describe('Map vocabulary', () => {
      test('get() returns undefined and has() false for a key never set', async () => {
        const repository = open()
        await expect(repository.get('missing')).resolves.toBeUndefined()
        await expect(repository.has('missing')).resolves.toBe(false)
        await expect(repository.getEntry('missing')).resolves.toBeUndefined()
      })

      test('set() stores a value that get() returns and that is plain JSON in its file', async () => {
        const repository = open()
        const value = { name: 'Ada', roles: ['admin'], nested: { deep: [1, 2, { x: null }] } }
        await repository.set('user-1', value)
        await expect(repository.get('user-1')).resolves.toEqual(value)
        await expect(repository.has('user-1')).resolves.toBe(true)
        const file = path.join(directory, 'user-1.json')
        expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(value)
      })

      test('every kind of JSON value round-trips, null included', async () => {
        const repository = open()
        const values: unknown[] = [
          null,
          0,
          -1.5,
          true,
          false,
          '',
          'text',
          [],
          {},
          ['é', '日本', '🎉'],
        ]
        for (const [index, value] of values.entries()) await repository.set(`v${index}`, value)
        for (const [index, value] of values.entries()) {
          await expect(repository.get(`v${index}`)).resolves.toEqual(value)
          await expect(repository.has(`v${index}`)).resolves.toBe(true)
        }
      })

      test('set() overwrites: the last awaited value wins', async () => {
        const repository = open()
        await repository.set('k', { n: 1 })
        await repository.set('k', { n: 2 })
        await repository.set('k', { n: 3, extra: true })
        await expect(repository.get('k')).resolves.toEqual({ n: 3, extra: true })
        await expect(open().get('k')).resolves.toEqual({ n: 3, extra: true })
      })

      test('get() returns a fresh copy: mutating a result never changes what is stored', async () => {
        const repository = open()
        const original = { list: [1], nested: { a: 1 } }
        await repository.set('k', original)
        original.list.push(99)
        original.nested.a = 99
        const first = (await repository.get('k')) as typeof original
        expect(first).toEqual({ list: [1], nested: { a: 1 } })
        first.list.push(2)
        first.nested.a = 2
        const second = (await repository.get('k')) as typeof original
        expect(second).toEqual({ list: [1], nested: { a: 1 } })
        expect(second).not.toBe(first)
        const entry = await repository.getEntry('k')
        expect(entry?.value).toEqual({ list: [1], nested: { a: 1 } })
      })

      test('delete() removes the file and returns whether there was one', async () => {
        const repository = open()
        await repository.set('k', 1)
        await expect(repository.delete('k')).resolves.toBe(true)
        expect(fs.existsSync(path.join(directory, 'k.json'))).toBe(false)
        await expect(repository.get('k')).resolves.toBeUndefined()
        await expect(repository.has('k')).resolves.toBe(false)
        await expect(repository.delete('k')).resolves.toBe(false)
      })

      test('a delete then a set of the same key, not awaited in between, keep their order', async () => {
        const repository = open()
        await repository.set('k', 'old')
        const results = await Promise.all([
          repository.set('k', 'a'),
          repository.delete('k'),
          repository.set('k', 'b'),
          repository.set('k', 'c'),
          repository.delete('other'),
        ])
        expect(results).toEqual([true, true, true, true, false])
        await expect(repository.get('k')).resolves.toBe('c')
        await expect(open().get('k')).resolves.toBe('c')
      })

      test('keys(), entries() and for await list every entry, encoded keys included', async () => {
        const repository = open()
        const keys = ['plain', 'with space', 'ünïcode', '../dots', 'UPPER_lower-09']
        for (const key of keys) await repository.set(key, { key })
        expect((await collect(repository.keys())).sort()).toEqual([...keys].sort())
        const entries = await collect(repository.entries())
        expect(entries.sort(([a], [b]) => a.localeCompare(b))).toEqual(
          [...keys].sort((a, b) => a.localeCompare(b)).map((key) => [key, { key }]),
        )
        expect((await collect(repository)).length).toBe(keys.length)
      })

      test('clear() removes every entry, returns the count and leaves foreign files', async () => {
        const repository = open()
        for (const key of ['a', 'b', 'c d']) await repository.set(key, key)
        fs.writeFileSync(path.join(directory, 'notes.txt'), 'keep me')
        await expect(repository.clear()).resolves.toBe(3)
        expect(await collect(repository.keys())).toEqual([])
        await expect(repository.get('a')).resolves.toBeUndefined()
        expect(listNames(directory)).toEqual(['notes.txt'])
        await expect(repository.clear()).resolves.toBe(0)
      })

      test('getEntry() reports the expiry, the file size and the change time', async () => {
        const repository = open()
        const before = Date.now()
        const expiresAt = future()
        await repository.set('k', { a: 1 }, { expiresAt })
        const entry = await repository.getEntry('k')
        const stats = fs.statSync(path.join(directory, 'k.json'))
        expect(entry).toEqual({
          key: 'k',
          value: { a: 1 },
          expiresAt,
          size: stats.size,
          changedAt: Math.round(stats.ctimeMs),
        })
        expect(entry?.size).toBe(Buffer.byteLength('{"a":1}'))
        expect(entry?.changedAt).toBeGreaterThanOrEqual(before - 1000)
        expect(entry?.changedAt).toBeLessThanOrEqual(Date.now() + 1000)
        await repository.set('never', 1)
        expect((await repository.getEntry('never'))?.expiresAt).toBeUndefined()
      })

      test('path() gives the file of a key inside the directory, encoding unsafe keys', () => {
        const repository = open()
        expect(repository.directory).toBe(path.resolve(directory))
        expect(repository.path('abc_DEF-123')).toBe(path.join(directory, 'abc_DEF-123.json'))
        const encoded = repository.path('a/b')
        expect(path.dirname(encoded)).toBe(directory)
        expect(path.basename(encoded)).toBe(`~${Buffer.from('a/b').toString('base64url')}.json`)
        expect(() => repository.path('')).toThrow(JsonFileRepositoryError)
      })

      test('values stay right when more keys are used than a small cache holds', async () => {
        const repository = open()
        for (let round = 0; round < 3; round++) {
          for (let index = 0; index < 6; index++)
            await repository.set(`k${index}`, { round, index })
          for (let index = 5; index >= 0; index--) {
            await expect(repository.get(`k${index}`)).resolves.toEqual({ round, index })
          }
        }
      })
    })

    describe('stats()', () => {
      test('counts writes, deletes, and reads as hits (cache) or misses (file read)', async () => {
        const repository = open()
        const start = repository.stats()
        expect(start).toEqual({
          hits: 0,
          misses: 0,
          writes: 0,
          touches: 0,
          skipped: 0,
          deletes: 0,
          quarantined: 0,
          tempFilesRemoved: 0,
          quarantinedRemoved: 0,
          cacheEntries: 0,
          cacheBytes: 0,
        })
        await repository.set('a', { a: 1 })
        await repository.set('b', { b: 1 })
        await repository.get('a')
        await repository.get('a')
        await repository.delete('b')
        const stats = repository.stats()
        expect(stats.writes).toBe(2)
        expect(stats.deletes).toBe(1)
        if (traits.cache) {
          expect(stats.hits).toBe(2)
          expect(stats.misses).toBe(0)
          expect(stats.cacheEntries).toBe(1)
          expect(stats.cacheBytes).toBeGreaterThan('{"a":1}'.length)
        } else {
          expect(stats.hits).toBe(0)
          expect(stats.misses).toBe(2)
          expect(stats.cacheEntries).toBe(0)
          expect(stats.cacheBytes).toBe(0)
        }
      })
    })

    describe('writes', () => {
      test('concurrent sets to one key coalesce: all settle, the last call wins, fewer writes', async () => {
        const repository = open()
        const calls = 50
        const results = await Promise.allSettled(
          Array.from({ length: calls }, (_, n) => repository.set('k', { n })),
        )
        expect(results.every((result) => result.status === 'fulfilled')).toBe(true)
        await expect(repository.get('k')).resolves.toEqual({ n: calls - 1 })
        await expect(open().get('k')).resolves.toEqual({ n: calls - 1 })
        const { writes } = repository.stats()
        expect(writes).toBeGreaterThanOrEqual(1)
        expect(writes).toBeLessThan(calls)
      })

      test('sets to different keys run concurrently and each is stored', async () => {
        const repository = open()
        await Promise.all(Array.from({ length: 20 }, (_, n) => repository.set(`k${n}`, n)))
        for (let n = 0; n < 20; n++) await expect(repository.get(`k${n}`)).resolves.toBe(n)
      })

      if (traits.cache) {
        test('set() of an unchanged value does no I/O and counts as skipped', async () => {
          const repository = open()
          const expiresAt = future()
          await repository.set('k', { a: [1, 2] }, { expiresAt })
          const file = path.join(directory, 'k.json')
          const before = fs.statSync(file)
          const { writes, touches, skipped } = repository.stats()
          await repository.set('k', { a: [1, 2] }, { expiresAt })
          await repository.set('k', { a: [1, 2] }, { expiresAt: new Date(expiresAt) })
          const after = repository.stats()
          expect(after.writes).toBe(writes)
          expect(after.touches).toBe(touches)
          expect(after.skipped).toBe(skipped + 2)
          const stats = fs.statSync(file)
          expect([stats.ino, stats.mtimeMs, stats.ctimeMs]).toEqual([
            before.ino,
            before.mtimeMs,
            before.ctimeMs,
          ])
        })

        test('a set() queued behind a write of the same value is skipped', async () => {
          const repository = open()
          await Promise.all([
            repository.set('k', { a: 1 }),
            repository.set('k', { a: 2 }),
            repository.set('k', { a: 1 }),
            repository.set('other', 1),
          ])
          await Promise.all([repository.set('k', { a: 3 }), repository.set('k', { a: 3 })])
          expect(repository.stats()).toMatchObject({ writes: 3, skipped: 2 })
          await expect(open().get('k')).resolves.toEqual({ a: 3 })
        })

        test('set() of the same value with a moved expiry only touches the file', async () => {
          const repository = open()
          await repository.set('k', { a: 1 }, { expiresAt: future() })
          const file = path.join(directory, 'k.json')
          const inode = fs.statSync(file).ino
          const { writes, touches } = repository.stats()
          const later = future() + 60_000
          await repository.set('k', { a: 1 }, { expiresAt: later })
          expect(repository.stats().writes).toBe(writes)
          expect(repository.stats().touches).toBe(touches + 1)
          expect(fs.statSync(file).ino).toBe(inode)
          expect((await repository.getEntry('k'))?.expiresAt).toBe(later)
          expect((await open().getEntry('k'))?.expiresAt).toBe(later)
        })

        test('with touchAfter, a small move of the expiry is skipped and a large one touches', async () => {
          const repository = open({ touchAfter: 60_000 })
          const expiresAt = future()
          await repository.set('k', 'v', { expiresAt })
          const { touches, skipped } = repository.stats()
          await repository.set('k', 'v', { expiresAt: expiresAt + 1000 })
          expect(repository.stats().skipped).toBe(skipped + 1)
          expect((await repository.getEntry('k'))?.expiresAt).toBe(expiresAt)
          await repository.set('k', 'v', { expiresAt: expiresAt + 120_000 })
          expect(repository.stats().touches).toBe(touches + 1)
          expect((await repository.getEntry('k'))?.expiresAt).toBe(expiresAt + 120_000)
          // An earlier expiry is never skipped.
          await repository.set('k', 'v', { expiresAt: expiresAt + 119_000 })
          expect((await repository.getEntry('k'))?.expiresAt).toBe(expiresAt + 119_000)
        })

        test('with touchAfter, touch() skips a small move of the expiry and makes a large one', async () => {
          const repository = open({ touchAfter: 60_000 })
          const expiresAt = future()
          await repository.set('k', 'v', { expiresAt })
          const { touches, skipped } = repository.stats()
          expect(await repository.touch('k', expiresAt + 1000)).toBe(true)
          expect(repository.stats()).toMatchObject({ touches, skipped: skipped + 1 })
          expect((await open().getEntry('k'))?.expiresAt).toBe(expiresAt)
          expect(await repository.touch('k', expiresAt + 120_000)).toBe(true)
          expect(repository.stats().touches).toBe(touches + 1)
          expect((await open().getEntry('k'))?.expiresAt).toBe(expiresAt + 120_000)
          // An earlier expiry is never skipped.
          await repository.touch('k', expiresAt + 119_000)
          expect((await open().getEntry('k'))?.expiresAt).toBe(expiresAt + 119_000)
        })
      } else {
        test('without a cache, set() of an unchanged value writes the file again', async () => {
          const repository = open()
          await repository.set('k', { a: 1 })
          const { writes } = repository.stats()
          await repository.set('k', { a: 1 })
          expect(repository.stats().writes).toBe(writes + 1)
          expect(repository.stats().skipped).toBe(0)
        })
      }

      test.each([
        [
          'a circular object',
          () => {
            const value: Record<string, unknown> = {}
            value.self = value
            return value
          },
        ],
        ['a BigInt', () => ({ n: 10n })],
        ['undefined', () => undefined],
        ['a function', () => () => 1],
        ['a symbol', () => Symbol('s')],
      ])('set() of %s rejects with ERR_INVALID_VALUE and writes nothing', async (_, make) => {
        const repository = open()
        await repository.set('kept', 'old')
        await expect(repository.set('kept', make())).rejects.toEqual(
          repositoryError('ERR_INVALID_VALUE'),
        )
        await expect(repository.set('new', make())).rejects.toEqual(
          repositoryError('ERR_INVALID_VALUE'),
        )
        expect(listNames(directory)).toEqual(['kept.json'])
        await expect(repository.get('kept')).resolves.toBe('old')
      })

      test('set() rejects an expiresAt that is not a time with a TypeError naming it', async () => {
        const repository = open()
        for (const expiresAt of [Number.NaN, Number.POSITIVE_INFINITY, 'tomorrow', new Date('x')]) {
          await expect(repository.set('k', 1, { expiresAt: expiresAt as number })).rejects.toThrow(
            /`expiresAt`/,
          )
        }
        await expect(repository.touch('k', Number.NaN)).rejects.toThrow(TypeError)
        expect(listNames(directory)).toEqual([])
      })

      test('a failed write leaves no cached value behind', async () => {
        const repository = open()
        await repository.set('k', 'stored')
        await expect(repository.get('k')).resolves.toBe('stored')
        // A file where the directory was: every write fails with ENOTDIR, even for root.
        const moved = `${directory}.moved`
        fs.renameSync(directory, moved)
        fs.writeFileSync(directory, 'not a directory')
        const failure = repository.set('k', 'never stored')
        await expect(failure).rejects.toEqual(repositoryError('ERR_IO'))
        await expect(failure).rejects.toHaveProperty('cause.code', 'ENOTDIR')
        // Reads fail the same way, as typed errors.
        await expect(repository.get('k')).rejects.toEqual(repositoryError('ERR_IO'))
        await expect(collect(repository.keys())).rejects.toEqual(repositoryError('ERR_IO'))
        await expect(repository.prune()).rejects.toEqual(repositoryError('ERR_IO'))
        fs.unlinkSync(directory)
        fs.renameSync(moved, directory)
        await expect(repository.get('k')).resolves.toBe('stored')
        expect(listNames(directory)).toEqual(['k.json'])
      })

      test('the directory is made again, with its mode, when it is removed while running', async () => {
        // A group-writable directory is refused unless shared on purpose.
        const repository = open({ directoryMode: 0o770, allowSharedDirectory: true })
        await repository.set('a', 1)
        removeDirectory(directory)
        await expect(repository.get('a')).resolves.toBeUndefined()
        await expect(collect(repository.keys())).resolves.toEqual([])
        await expect(repository.prune()).resolves.toBe(0)
        await expect(repository.touch('a', future())).resolves.toBe(false)
        await expect(repository.delete('a')).resolves.toBe(false)
        await repository.set('b', 2)
        expect(modeOf(directory)).toBe(0o770)
        await expect(repository.get('b')).resolves.toBe(2)
        await expect(repository.get('a')).resolves.toBeUndefined()
      })
    })

    describe('expiry', () => {
      // The clock is faked (Date only) where time has to pass over an entry that stays cached:
      // a change to its file would send the read to the file instead of the cache.
      test('an entry is served until it expires, then get() misses and its file is removed', async () => {
        const clock = fakeClock()
        const repository = open()
        const expiresAt = Date.now() + 600
        await repository.set('k', 'v', { expiresAt })
        await expect(repository.get('k')).resolves.toBe('v')
        clock.set(expiresAt - 1)
        await expect(repository.get('k')).resolves.toBe('v')
        clock.set(expiresAt)
        await expect(repository.get('k')).resolves.toBeUndefined()
        expect(fs.existsSync(path.join(directory, 'k.json'))).toBe(false)
        expect(repository.stats().deletes).toBe(1)
      })

      test('get() returns undefined for an expired key, cached or read cold', async () => {
        const clock = fakeClock()
        const repository = open()
        await repository.set('warm', 'v', { expiresAt: Date.now() + 60 })
        await repository.set('cold', 'v', { expiresAt: new Date(Date.now() + 60) })
        await expect(repository.get('warm')).resolves.toBe('v')
        const { hits } = repository.stats()
        clock.advance(80)
        await expect(repository.get('warm')).resolves.toBeUndefined()
        // Where there is a cache, the expiry was found there: the read was a hit.
        if (traits.cache) expect(repository.stats().hits).toBe(hits + 1)
        await expect(open().get('cold')).resolves.toBeUndefined()
        expect(listNames(directory)).toEqual([])
      })

      test('has(), getEntry(), keys() and entries() skip an expired key and remove its file', async () => {
        const repository = open()
        await repository.set('live', 1, { expiresAt: future() })
        await repository.set('dead1', 2, { expiresAt: future() })
        await repository.set('dead2', 3, { expiresAt: future() })
        await repository.set('dead3', 4, { expiresAt: future() })
        for (const key of ['dead1', 'dead2', 'dead3']) expire(repository.path(key))
        await expect(repository.has('dead1')).resolves.toBe(false)
        await expect(repository.getEntry('dead2')).resolves.toBeUndefined()
        expect(await collect(repository.keys())).toEqual(['live'])
        expect(await collect(repository.entries())).toEqual([['live', 1]])
        expect(listNames(directory)).toEqual(['live.json'])
      })

      test('set() with an expiresAt in the past deletes the entry', async () => {
        const repository = open()
        await repository.set('k', 'v')
        await repository.set('k', 'w', { expiresAt: past() })
        await expect(repository.get('k')).resolves.toBeUndefined()
        expect(listNames(directory)).toEqual([])
        await repository.set('never-stored', 'v', { expiresAt: new Date(past()) })
        expect(listNames(directory)).toEqual([])
      })

      test('touch() moves the expiry without rewriting the content', async () => {
        const repository = open()
        await repository.set('k', { a: 1 }, { expiresAt: future() })
        const file = path.join(directory, 'k.json')
        const before = fs.statSync(file)
        const { writes } = repository.stats()
        const later = future() + 600_000
        await expect(repository.touch('k', later)).resolves.toBe(true)
        const after = fs.statSync(file)
        expect(after.ino).toBe(before.ino)
        expect(fs.readFileSync(file, 'utf8')).toBe('{"a":1}')
        expect(repository.stats().writes).toBe(writes)
        expect(repository.stats().touches).toBe(1)
        expect((await repository.getEntry('k'))?.expiresAt).toBe(later)
        expect((await open().getEntry('k'))?.expiresAt).toBe(later)
        expect(modeOf(file)).toBe(0o600)
      })

      test('touch() with undefined removes the expiry, and returns false for a missing key', async () => {
        const repository = open()
        await repository.set('k', 1, { expiresAt: future() })
        await expect(repository.touch('k', undefined)).resolves.toBe(true)
        expect((await repository.getEntry('k'))?.expiresAt).toBeUndefined()
        expect(fs.statSync(path.join(directory, 'k.json')).mtimeMs).toBeLessThan(Date.now() + 1000)
        await expect(repository.touch('missing', future())).resolves.toBe(false)
        expect(listNames(directory)).toEqual(['k.json'])
      })

      test('touch() with a time that has passed deletes the entry', async () => {
        const repository = open()
        await repository.set('k', 'v', { expiresAt: future() })
        await expect(repository.touch('k', new Date(past()))).resolves.toBe(true)
        await expect(repository.get('k')).resolves.toBeUndefined()
        await expect(repository.touch('k', 0)).resolves.toBe(false)
        expect(listNames(directory)).toEqual([])
      })

      test('prune() removes expired files only and returns how many', async () => {
        const repository = open()
        await repository.set('live', 1, { expiresAt: future() })
        await repository.set('forever', 2)
        for (let n = 0; n < 40; n++) {
          await repository.set(`dead${n}`, n, { expiresAt: future() })
          expire(repository.path(`dead${n}`))
        }
        await expect(repository.prune()).resolves.toBe(40)
        expect(listNames(directory)).toEqual(['forever.json', 'live.json'])
        await expect(repository.prune()).resolves.toBe(0)
        await expect(repository.get('live')).resolves.toBe(1)
      })

      test('prune() removes the files moved aside more than 7 days ago, and no other', async () => {
        const repository = open()
        await repository.set('corrupt', 1)
        fs.writeFileSync(repository.path('corrupt'), '{"not json')
        await expect(repository.get('corrupt')).resolves.toBeUndefined()
        const [justNow] = listNames(directory)
        const day = 24 * 60 * 60 * 1000
        // As a quarantine names them: by when they were moved aside, whatever their times.
        const old = `x.json.corrupt-${Date.now() - 8 * day}`
        const young = `y.json.corrupt-${Date.now() - 6 * day}`
        const oldDirectory = `z.json.corrupt-${Date.now() - 8 * day}`
        fs.writeFileSync(path.join(directory, old), '{"user":"x"}')
        fs.writeFileSync(path.join(directory, young), '{"user":"y"}')
        fs.mkdirSync(path.join(directory, oldDirectory))
        await expect(repository.prune()).resolves.toBe(0)
        expect(listNames(directory)).toEqual([justNow, oldDirectory, young].sort())
        expect(repository.stats().quarantinedRemoved).toBe(1)
      })

      test('prune() decides without reading: an expired file of invalid JSON is removed, not moved aside', async () => {
        const logger = memoryLogger()
        const repository = open({ logger })
        await repository.set('live', 1)
        const file = path.join(directory, 'broken.json')
        fs.writeFileSync(file, '{"not json')
        expire(file)
        await expect(repository.prune()).resolves.toBe(1)
        expect(listNames(directory)).toEqual(['live.json'])
        expect(repository.stats().quarantined).toBe(0)
        expect(logger.records).toEqual([])
      })

      test('with pruneInterval, expired files are removed without any call, on an unref’d timer', async () => {
        const before = timeouts()
        const repository = open({ pruneInterval: 20 })
        expect(timeouts()).toBe(before)
        await repository.set('dead', 1, { expiresAt: future() })
        await repository.set('live', 2, { expiresAt: future() })
        const file = path.join(directory, 'dead.json')
        expire(file)
        expect(await waitFor(() => !fs.existsSync(file))).toBe(true)
        expect(listNames(directory)).toEqual(['live.json'])
      })
      test('a failed background prune is reported to logger.error', async () => {
        const logger = memoryLogger()
        const repository = open({ pruneInterval: 20, logger })
        await repository.set('k', 1)
        const moved = `${directory}.moved`
        fs.renameSync(directory, moved)
        fs.writeFileSync(directory, 'not a directory')
        try {
          expect(await waitFor(() => logger.records.length > 0)).toBe(true)
        } finally {
          fs.unlinkSync(directory)
          fs.renameSync(moved, directory)
        }
        expect(logger.records[0]).toMatchObject({
          level: 'error',
          message: 'prune failed',
          object: { err: expect.objectContaining({ code: 'ERR_IO' }) },
        })
      })

      test('a hand-written JSON file is readable and never expires, whatever its time', async () => {
        const repository = open()
        await repository.set('other', 0)
        const file = path.join(directory, 'hand.json')
        fs.writeFileSync(file, '{"written":"by hand"}\n')
        fs.utimesSync(file, 1, 1)
        await expect(repository.get('hand')).resolves.toEqual({ written: 'by hand' })
        expect((await repository.getEntry('hand'))?.expiresAt).toBeUndefined()
        await expect(repository.prune()).resolves.toBe(0)
        expect((await collect(repository.keys())).sort()).toEqual(['hand', 'other'])
      })
    })

    describe('files and modes', () => {
      test('files are 0600 and the directory 0700 by default', async () => {
        const repository = open()
        await repository.set('k', 1)
        await repository.set('k', 2)
        expect(modeOf(directory)).toBe(0o700)
        expect(modeOf(path.join(directory, 'k.json'))).toBe(0o600)
      })

      test.each([
        ['0640', '0750', 0o640, 0o750],
        ['0664', '0770', 0o664, 0o770],
      ])(
        'fileMode %s and directoryMode %s are honoured, even where the umask would narrow them',
        async (_file, _directory, fileMode, directoryMode) => {
          const repository = open({ fileMode, directoryMode, allowSharedDirectory: true })
          await repository.set('k', 1, { expiresAt: future() })
          expect(modeOf(directory)).toBe(directoryMode)
          expect(modeOf(path.join(directory, 'k.json'))).toBe(fileMode)
          await repository.touch('k', future() + 1)
          await repository.set('k', 2)
          expect(modeOf(path.join(directory, 'k.json'))).toBe(fileMode)
        },
      )

      test('keys() and entries() skip temp, quarantined and foreign files', async () => {
        const repository = open()
        await repository.set('a', 1)
        const foreign = [
          '.a.json.12345.0a1b2c.tmp',
          'a.json.corrupt-1700000000000',
          'notes.txt',
          `~${Buffer.from('a').toString('base64')}=.json`,
          '~YR.json',
          'b.JSON',
          '.hidden.json',
        ]
        for (const name of foreign) fs.writeFileSync(path.join(directory, name), '{}')
        fs.mkdirSync(path.join(directory, 'folder.json'))
        expect(await collect(repository.keys())).toEqual(['a'])
        expect(await collect(repository.entries())).toEqual([['a', 1]])
        await expect(repository.clear()).resolves.toBe(1)
        expect(listNames(directory)).toEqual([...foreign, 'folder.json'].sort())
      })
    })

    describe('options', () => {
      test.each([
        [{ cache: 'yes' }, 'cache'],
        [{ cache: { maxEntries: 0 } }, 'cache.maxEntries'],
        [{ cache: { maxEntries: 1.5 } }, 'cache.maxEntries'],
        [{ cache: { maxBytes: -1 } }, 'cache.maxBytes'],
        [{ fsync: 'true' }, 'fsync'],
        [{ fileMode: -1 }, 'fileMode'],
        [{ fileMode: 0o10000 }, 'fileMode'],
        [{ directoryMode: '700' }, 'directoryMode'],
        [{ pruneInterval: -5 }, 'pruneInterval'],
        [{ pruneInterval: 2 ** 31 }, 'pruneInterval'],
        [{ touchAfter: Number.NaN }, 'touchAfter'],
        [{ logger: {} }, 'logger'],
        [{ logger: { warn() {} } }, 'logger'],
      ])('%j throws a TypeError naming `%s`', (options, name) => {
        const create = () => open(options as JsonFileRepositoryOptions)
        expect(create).toThrow(TypeError)
        expect(create).toThrow(`\`${name}\``)
        expect(fs.existsSync(directory)).toBe(false)
      })

      test('a directory that cannot be created throws ERR_IO', () => {
        fs.mkdirSync(path.dirname(directory), { recursive: true })
        fs.writeFileSync(directory, 'a file')
        expect(() => open({}, path.join(directory, 'sub'))).toThrow(
          expect.objectContaining({ code: 'ERR_IO' }),
        )
      })
    })

    describe('set() with update', () => {
      test('replaces an entry that exists and resolves true', async () => {
        const repository = open()
        await repository.set('k', 'old')
        await expect(repository.set('k', 'new', { update: true })).resolves.toBe(true)
        await expect(open().get('k')).resolves.toBe('new')
      })

      test('never creates an entry: a deleted key stays deleted and it resolves false', async () => {
        const repository = open()
        await expect(repository.set('never', 'v', { update: true })).resolves.toBe(false)
        await repository.set('k', 'v', { expiresAt: Date.now() + 3_600_000 })
        await repository.get('k')
        // Deleted by another process: this one's cache still holds the entry.
        fs.unlinkSync(path.join(directory, 'k.json'))
        const later = Date.now() + 7_200_000
        await expect(repository.set('k', 'v', { update: true, expiresAt: later })).resolves.toBe(
          false,
        )
        await expect(repository.set('k', 'w', { update: true })).resolves.toBe(false)
        expect(listNames(directory)).toEqual([])
        await expect(repository.get('k')).resolves.toBeUndefined()
      })

      test('a delete then an update of the same key, not awaited in between, leave no entry', async () => {
        const repository = open()
        await repository.set('k', 'old')
        const results = await Promise.all([
          repository.delete('k'),
          repository.set('k', 'stale', { update: true }),
        ])
        expect(results).toEqual([true, false])
        expect(listNames(directory)).toEqual([])
        await expect(repository.set('k', 'new')).resolves.toBe(true)
        await expect(open().get('k')).resolves.toBe('new')
      })
    })

    describe('close()', () => {
      test('close() waits for pending writes; later calls reject with ERR_CLOSED', async () => {
        const repository = open()
        const writes = [repository.set('a', 1), repository.set('b', 2), repository.set('a', 3)]
        await repository.close()
        expect(JSON.parse(fs.readFileSync(path.join(directory, 'a.json'), 'utf8'))).toBe(3)
        expect(JSON.parse(fs.readFileSync(path.join(directory, 'b.json'), 'utf8'))).toBe(2)
        await expect(Promise.all(writes)).resolves.toEqual([true, true, true])
        const closed = repositoryError('ERR_CLOSED')
        await expect(repository.get('a')).rejects.toEqual(closed)
        await expect(repository.getEntry('a')).rejects.toEqual(closed)
        await expect(repository.has('a')).rejects.toEqual(closed)
        await expect(repository.set('a', 4)).rejects.toEqual(closed)
        await expect(repository.delete('a')).rejects.toEqual(closed)
        await expect(repository.touch('a', future())).rejects.toEqual(closed)
        await expect(repository.clear()).rejects.toEqual(closed)
        await expect(repository.prune()).rejects.toEqual(closed)
        await expect(collect(repository.keys())).rejects.toEqual(closed)
        await expect(collect(repository.entries())).rejects.toEqual(closed)
        await expect(repository.close()).resolves.toBeUndefined()
        // No path: neither in its message nor in `file`, which loggers print.
        const error = await repository.get('a').catch((e: JsonFileRepositoryError) => e)
        expect((error as JsonFileRepositoryError).file).toBeUndefined()
        expect((error as Error).message).not.toContain(directory)
        expect(JSON.parse(fs.readFileSync(path.join(directory, 'a.json'), 'utf8'))).toBe(3)
      })

      /** Writes `count` entries whose expiry has passed, straight to their files. */
      function plantExpired(repository: JsonFileRepository<unknown>, count: number): string[] {
        const files = Array.from({ length: count }, (_, n) => repository.path(`dead${n}`))
        for (const file of files) {
          fs.writeFileSync(file, '1')
          expire(file)
        }
        return files
      }

      test('close() waits for a prune() under way, which stops early; then no file is removed', async () => {
        const repository = open()
        const files = plantExpired(repository, 100)
        let settled = false
        const pruning = repository.prune()
        pruning.then(
          () => (settled = true),
          () => (settled = true),
        )
        await repository.close()
        // Settled by the time close() resolved: from then on the repository touches no file.
        expect(settled).toBe(true)
        const removed = await pruning
        // It stopped at the next file instead of walking the whole directory.
        expect(removed).toBeLessThan(files.length)
        expect(files.filter((file) => !fs.existsSync(file))).toHaveLength(removed)
        const after = path.join(directory, 'after.json')
        fs.writeFileSync(after, '1')
        expire(after)
        expect(fs.existsSync(after)).toBe(true)
        await expect(repository.prune()).rejects.toEqual(repositoryError('ERR_CLOSED'))
        expect(fs.existsSync(after)).toBe(true)
      })

      test('close() stops the prune timer and waits for the prune the timer started', async () => {
        // Fake timers (not the clock: expiries are judged by the real one) to fire the timer at
        // a chosen moment and to count what is left of it.
        const intervals = ['setInterval', 'clearInterval']
        jest.useFakeTimers({
          doNotFake: ['Date', ...NOT_THE_CLOCK.filter((api) => !intervals.includes(api))],
        })
        const logger = memoryLogger()
        const repository = open({ pruneInterval: 60_000, logger })
        expect(jest.getTimerCount()).toBe(1)
        const files = plantExpired(repository, 100)
        const prune = jest.spyOn(repository, 'prune')
        jest.advanceTimersByTime(60_000)
        expect(prune).toHaveBeenCalledTimes(1)
        const started = prune.mock.results[0]?.value as Promise<number>
        let settled = false
        started.then(
          () => (settled = true),
          () => (settled = true),
        )
        await repository.close()
        expect(settled).toBe(true)
        expect(jest.getTimerCount()).toBe(0)
        const removed = await started
        expect(removed).toBeLessThan(files.length)
        expect(files.filter((file) => !fs.existsSync(file))).toHaveLength(removed)
        // No timer left and no prune running: nothing can remove a file that expires now, however
        // much time passes.
        const after = path.join(directory, 'after.json')
        fs.writeFileSync(after, '1')
        expire(after)
        jest.advanceTimersByTime(10 * 60_000)
        expect(prune).toHaveBeenCalledTimes(1)
        expect(fs.existsSync(after)).toBe(true)
        expect(logger.records).toEqual([])
      })
    })
  })
}

/**
 * Property tests: the key mapping is injective and stays inside the directory, and a
 * repository behaves as a `Map` under random sequences of calls.
 */
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { JsonFileRepository } from 'json-file-repository'
import { fileNameToKey, invalidKeyReason, keyToFileName } from '../src/keys'
import { makeTempDirectory, removeDirectory } from './helpers'

let root: string
let runNumber = 0
beforeAll(() => {
  root = makeTempDirectory('properties')
})
afterAll(() => removeDirectory(root))
const freshDirectory = () => path.join(root, `run-${++runNumber}`)

/** Any UTF-16 string: lone surrogates, NUL, separators and dots included. */
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  fc.string({ unit: fc.constantFrom('.', '/', '\\', '\0', '~', 'a', '-', '_', 'é', '\uD800') }),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,250}$/),
)

describe('key mapping', () => {
  test('a storable key maps to a file name that maps back to it, inside the directory', () => {
    const repository = new JsonFileRepository(freshDirectory())
    fc.assert(
      fc.property(anyString, (key) => {
        const name = invalidKeyReason(key) === undefined ? keyToFileName(key) : undefined
        if (name === undefined) {
          expect(() => repository.path(key)).toThrow(
            expect.objectContaining({ code: 'ERR_INVALID_KEY' }),
          )
          return
        }
        expect(fileNameToKey(name)).toBe(key)
        expect(name).toMatch(/^~?[A-Za-z0-9_-]+\.json$/)
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(200)
        expect(path.dirname(repository.path(key))).toBe(repository.directory)
        expect(path.basename(repository.path(key))).toBe(name)
      }),
      { numRuns: 2000 },
    )
  })

  test('two different keys never share a file', () => {
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        fc.pre(a !== b && invalidKeyReason(a) === undefined && invalidKeyReason(b) === undefined)
        const nameA = keyToFileName(a)
        const nameB = keyToFileName(b)
        fc.pre(nameA !== undefined && nameB !== undefined)
        expect(nameA).not.toBe(nameB)
      }),
      { numRuns: 2000 },
    )
  })

  test('a file name is the file of at most one key: the name a key maps back to', () => {
    const names = fc.oneof(
      anyString,
      anyString.map((s) => `${s}.json`),
      anyString.map((s) => `~${s}.json`),
      fc.stringMatching(/^~[A-Za-z0-9_-]{0,12}\.json$/),
    )
    fc.assert(
      fc.property(names, (name) => {
        const key = fileNameToKey(name)
        if (key !== undefined) expect(keyToFileName(key)).toBe(name)
      }),
      { numRuns: 2000 },
    )
  })
})

type Operation =
  | { kind: 'set'; key: string; value: unknown }
  | { kind: 'get' | 'has' | 'delete'; key: string }
  | { kind: 'reopen' }

const keys = fc.constantFrom('a', 'b', 'c/../d', '', '..', 'é')
const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      key: keys,
      value: fc.jsonValue({ maxDepth: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('get' as const, 'has' as const, 'delete' as const),
      key: keys,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
)
const configuration = fc.constantFrom<[string, object]>(
  ['cache', {}],
  ['no cache', { cache: false }],
  ['tiny cache', { cache: { maxEntries: 1 } }],
)

/** What JSON makes of a value: what the repository is expected to give back. */
const viaJson = (value: unknown) => JSON.parse(JSON.stringify(value))

describe('a repository behaves as a Map', () => {
  test('random set/get/has/delete sequences, awaited one by one, agree with a Map', async () => {
    await fc.assert(
      fc.asyncProperty(
        configuration,
        fc.array(operation, { maxLength: 40 }),
        async ([, options], operations) => {
          const directory = freshDirectory()
          const model = new Map<string, unknown>()
          let repository = new JsonFileRepository<unknown>(directory, options)
          try {
            for (const op of operations) {
              if (op.kind === 'reopen') {
                await repository.close()
                repository = new JsonFileRepository<unknown>(directory, options)
              } else if (op.key === '') {
                await expect(repository[op.kind](op.key, null)).rejects.toMatchObject({
                  code: 'ERR_INVALID_KEY',
                })
              } else if (op.kind === 'set') {
                await repository.set(op.key, op.value)
                model.set(op.key, viaJson(op.value))
              } else if (op.kind === 'get') {
                expect(await repository.get(op.key)).toEqual(model.get(op.key))
              } else if (op.kind === 'has') {
                expect(await repository.has(op.key)).toBe(model.has(op.key))
              } else {
                expect(await repository.delete(op.key)).toBe(model.delete(op.key))
              }
            }
            const listed = new Map<string, unknown>()
            for await (const [key, value] of repository) listed.set(key, value)
            expect(listed).toEqual(model)
          } finally {
            await repository.close()
            removeDirectory(directory)
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  test('random set/delete bursts, not awaited, end as the last call for each key says', async () => {
    await fc.assert(
      fc.asyncProperty(
        configuration,
        fc.array(
          operation.filter((op) => op.kind === 'set' || op.kind === 'delete'),
          { maxLength: 30 },
        ),
        async ([, options], operations) => {
          const directory = freshDirectory()
          const model = new Map<string, unknown>()
          const repository = new JsonFileRepository<unknown>(directory, options)
          try {
            const calls: Promise<unknown>[] = []
            for (const op of operations) {
              if (op.kind === 'reopen' || op.key === '') continue
              if (op.kind === 'set') {
                calls.push(repository.set(op.key, op.value))
                model.set(op.key, viaJson(op.value))
              } else {
                calls.push(repository.delete(op.key))
                model.delete(op.key)
              }
            }
            await Promise.all(calls)
            for (const key of ['a', 'b', 'c/../d', '..', 'é']) {
              expect(await repository.get(key)).toEqual(model.get(key))
            }
            const cold = new JsonFileRepository<unknown>(directory, { cache: false })
            const listed = new Map<string, unknown>()
            for await (const [key, value] of cold) listed.set(key, value)
            expect(listed).toEqual(model)
            expect(fs.readdirSync(directory).filter((name) => name.endsWith('.tmp'))).toEqual([])
          } finally {
            await repository.close()
            removeDirectory(directory)
          }
        },
      ),
      { numRuns: 40 },
    )
  })
})

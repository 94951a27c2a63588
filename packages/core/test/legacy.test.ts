/**
 * Files of an earlier store (`<key>`, no extension, expiry inside the JSON), read through the
 * `legacyFiles` option with the format of @itrocks/fastify-file-session-store 0.3 sessions. The
 * adapter's tests drive the real 0.3.0 package; these cover the repository's side of it.
 */
import fs from 'node:fs'
import path from 'node:path'
import { JsonFileRepository, legacySessions } from 'json-file-repository'
import { listNames, makeTempDirectory, memoryLogger, removeDirectory } from './helpers'

const TTL = 86_400_000
const ID = 'Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp'
const OTHER = 'Zz9yX8_wV7-uT6sR5qP4oN3mL2kJ1iHg'
const HOUR = 3_600_000

let directory: string
let repository: JsonFileRepository
let logger: ReturnType<typeof memoryLogger>

beforeEach(() => {
  directory = makeTempDirectory('legacy')
  logger = memoryLogger()
  repository = open()
})
afterEach(async () => {
  await repository.close()
  removeDirectory(directory)
})

function open(legacy = true) {
  return new JsonFileRepository(directory, {
    fsync: false,
    logger,
    ...(legacy ? { legacyFiles: legacySessions(TTL) } : {}),
  })
}

/** A session file as 0.3 wrote it: the whole session JSON, in place, at `<directory>/<id>`. */
function writeLegacy(id: string, value: unknown, writtenAt?: number): string {
  const file = path.join(directory, id)
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value), { mode: 0o600 })
  if (writtenAt !== undefined) fs.utimesSync(file, writtenAt / 1000, writtenAt / 1000)
  return file
}

function session(expires: string | null, user = 'ada') {
  return { cookie: { expires, originalMaxAge: null, path: '/', httpOnly: true }, user }
}

test('get reads a legacy file, with the expiry of its cookie, and converts it to <key>.json', async () => {
  const expires = new Date(Date.now() + HOUR).toISOString()
  writeLegacy(ID, session(expires))
  const entry = await repository.getEntry(ID)
  expect(entry?.value).toEqual({
    cookie: { originalMaxAge: null, path: '/', httpOnly: true },
    user: 'ada',
  })
  expect(entry?.expiresAt).toBe(Date.parse(expires))
  expect(listNames(directory)).toEqual([`${ID}.json`])
  expect((await repository.getEntry(ID))?.expiresAt).toBe(Date.parse(expires))
})

test('a legacy session without cookie.expires expires ttl after its file was last written', async () => {
  const writtenAt = Date.now() - HOUR
  writeLegacy(ID, session(null), writtenAt)
  const entry = await repository.getEntry(ID)
  expect(entry?.value).toMatchObject({ cookie: { expires: null }, user: 'ada' })
  expect(Math.abs((entry?.expiresAt ?? 0) - (writtenAt + TTL))).toBeLessThanOrEqual(1)
  // Stored as it was asked: not taken for a filesystem that clamps times.
  expect(logger.records).toEqual([])
})

test('an expired legacy session is a miss and its file is removed, by get and by prune', async () => {
  writeLegacy(ID, session(new Date(Date.now() - HOUR).toISOString()))
  writeLegacy(OTHER, session(null), Date.now() - 2 * TTL)
  expect(await repository.get(ID)).toBeUndefined()
  expect(listNames(directory)).toEqual([OTHER])
  expect(await repository.prune()).toBe(1)
  expect(listNames(directory)).toEqual([])
})

test('a legacy file that holds no session object, or no JSON, is moved aside and reported', async () => {
  writeLegacy(ID, [1, 2])
  writeLegacy(OTHER, '{"cookie":')
  expect(await repository.get(ID)).toBeUndefined()
  expect(await repository.get(OTHER)).toBeUndefined()
  const names = listNames(directory)
  expect(names).toHaveLength(2)
  expect(names.every((name) => /\.corrupt-\d+$/.test(name))).toBe(true)
  expect(logger.records.map((record) => record.message)).toEqual([
    expect.stringMatching(/no entry of the earlier format/),
    expect.stringMatching(/invalid JSON/),
  ])
})

test('a current file wins over a legacy file left beside it, which prune removes', async () => {
  await repository.set(ID, { user: 'new' })
  writeLegacy(ID, session(null, 'old'))
  expect(await repository.get(ID)).toEqual({ user: 'new' })
  expect(await repository.prune()).toBe(0)
  expect(listNames(directory)).toEqual([`${ID}.json`])
  expect(await repository.get(ID)).toEqual({ user: 'new' })
})

test('delete removes the legacy file too, so that the entry cannot come back', async () => {
  writeLegacy(ID, session(null))
  expect(await repository.delete(ID)).toBe(true)
  expect(listNames(directory)).toEqual([])
  expect(await repository.get(ID)).toBeUndefined()
  await repository.set(OTHER, { user: 'new' })
  writeLegacy(OTHER, session(null, 'old'))
  expect(await repository.delete(OTHER)).toBe(true)
  expect(listNames(directory)).toEqual([])
})

test('keys, entries and list see each legacy session once, converted', async () => {
  writeLegacy(ID, session(null, 'legacy'))
  await repository.set(OTHER, { user: 'current' })
  writeLegacy('expired', session(new Date(Date.now() - HOUR).toISOString()))
  const keys: string[] = []
  for await (const key of repository.keys()) keys.push(key)
  expect(keys.sort()).toEqual([ID, OTHER].sort())
  expect(listNames(directory)).toEqual([`${ID}.json`, `${OTHER}.json`].sort())
  writeLegacy('another', session(null, 'x'))
  const listed: string[] = []
  for await (const { key } of repository.list()) listed.push(key)
  expect(listed.sort()).toEqual(['another', ID, OTHER].sort())
})

test('migrate converts every legacy file once and reports what it did; again, it does nothing', async () => {
  writeLegacy(ID, session(null))
  writeLegacy('expired', session(new Date(Date.now() - HOUR).toISOString()))
  writeLegacy('corrupt', 'not json')
  await repository.set(OTHER, { user: 'current' })
  writeLegacy(OTHER, session(null, 'old'))
  expect(await repository.migrate()).toEqual({ migrated: 1, superseded: 1, expired: 1, corrupt: 1 })
  expect(await repository.migrate()).toEqual({ migrated: 0, superseded: 0, expired: 0, corrupt: 0 })
  expect(listNames(directory).filter((name) => !name.includes('.'))).toEqual([])
  expect(await repository.get(OTHER)).toEqual({ user: 'current' })
  expect(await repository.get(ID)).toMatchObject({ user: 'ada' })
})

test('only safe names are legacy files: temp, quarantined, dotted and foreign names are left alone', async () => {
  const names = ['.hidden', 'a.b', `${ID}.corrupt-1`, `.${ID}.json.1.a.tmp`, 'x'.repeat(201)]
  for (const name of names) writeLegacy(name, session(null))
  fs.mkdirSync(path.join(directory, 'adirectory'))
  fs.symlinkSync(path.join(directory, 'a.b'), path.join(directory, 'alink'))
  expect(await repository.get('a.b')).toBeUndefined()
  expect(await repository.get('adirectory')).toBeUndefined()
  expect(await repository.get('alink')).toBeUndefined()
  expect(await repository.delete('adirectory')).toBe(false)
  expect(await repository.migrate()).toEqual({ migrated: 0, superseded: 0, expired: 0, corrupt: 0 })
  expect(listNames(directory)).toEqual([...names, 'adirectory', 'alink'].sort())
})

test('without the legacyFiles option legacy files are foreign: not read, listed or removed', async () => {
  await repository.close()
  repository = open(false)
  writeLegacy(ID, session(null))
  expect(await repository.get(ID)).toBeUndefined()
  expect(await repository.delete(ID)).toBe(false)
  expect(await repository.prune()).toBe(0)
  expect(listNames(directory)).toEqual([ID])
  await expect(repository.migrate()).rejects.toThrow(TypeError)
  expect(() => new JsonFileRepository(directory, { legacyFiles: {} as never })).toThrow(
    '`legacyFiles`',
  )
})

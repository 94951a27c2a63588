/** `readOnly: true`: a repository for tools that inspect a directory and must not change it. */
import fs from 'node:fs'
import path from 'node:path'
import { JsonFileRepository, legacySessions } from 'json-file-repository'
import { expiryToMtime } from '../src/expiry'
import {
  directorySnapshot,
  makeTempDirectory,
  memoryLogger,
  removeDirectory,
  waitUntilOlderThan,
} from './helpers'

let root: string
let directory: string

beforeEach(async () => {
  root = makeTempDirectory('read-only')
  directory = path.join(root, 'entries')
  const writer = new JsonFileRepository(directory, { fsync: false })
  await writer.set('live', { user: 1 }, { expiresAt: Date.now() + 3_600_000 })
  await writer.set('forever', 2)
  await writer.set('old', 3)
  const past = expiryToMtime(Date.now() - 60_000)
  fs.utimesSync(writer.path('old'), past, past)
  fs.writeFileSync(path.join(directory, 'corrupt.json'), '{')
  fs.mkdirSync(path.join(directory, 'folder.json'))
  fs.writeFileSync(path.join(directory, '.stale.json.99999999.ab.tmp'), '{')
  await writer.close()
})

afterEach(() => removeDirectory(root))

const readOnly = (logger = memoryLogger()) =>
  new JsonFileRepository(directory, { readOnly: true, logger })

test('reads every entry, and a miss for an expired or corrupt one leaves its file in place', async () => {
  const before = directorySnapshot(directory)
  const logger = memoryLogger()
  const repository = readOnly(logger)
  expect(await repository.get('live')).toEqual({ user: 1 })
  expect(await repository.get('old')).toBeUndefined()
  expect(await repository.get('corrupt')).toBeUndefined()
  expect(await repository.get('folder')).toBeUndefined()
  expect(await repository.has('old')).toBe(false)
  const entries = []
  for await (const entry of repository.entries()) entries.push(entry)
  expect(entries.sort()).toEqual([
    ['forever', 2],
    ['live', { user: 1 }],
  ])
  expect(directorySnapshot(directory)).toEqual(before)
  expect(repository.stats()).toMatchObject({ deletes: 0, quarantined: 0 })
  // The corrupt file and the directory are reported each time they are met, as left in place.
  const messages = logger.records.map((record) => record.message)
  expect(messages).toContainEqual(expect.stringMatching(/"corrupt".*invalid JSON.*left in place/))
  expect(messages).toContainEqual(expect.stringMatching(/"folder".*a directory.*left in place/))
  await repository.close()
})

test('every call that would change the directory rejects with ERR_READ_ONLY', async () => {
  const before = directorySnapshot(directory)
  const repository = readOnly()
  const refused = expect.objectContaining({ code: 'ERR_READ_ONLY' })
  await expect(repository.set('new', 1)).rejects.toEqual(refused)
  await expect(repository.set('live', { user: 1 })).rejects.toEqual(refused)
  await expect(repository.touch('live', Date.now() + 60_000)).rejects.toEqual(refused)
  await expect(repository.delete('live')).rejects.toEqual(refused)
  await expect(repository.clear()).rejects.toEqual(refused)
  await expect(repository.prune()).rejects.toEqual(refused)
  // Its message names no path: it may reach an HTTP response.
  const error = await repository.set('new', 1).catch((e: Error) => e)
  expect((error as Error).message).not.toContain(directory)
  expect(directorySnapshot(directory)).toEqual(before)
  await repository.close()
})

test('a missing directory is not created: every read is a miss', async () => {
  const missing = path.join(root, 'missing')
  const repository = new JsonFileRepository(missing, { readOnly: true })
  expect(await repository.get('a')).toBeUndefined()
  const keys = []
  for await (const key of repository.keys()) keys.push(key)
  expect(keys).toEqual([])
  expect(fs.existsSync(missing)).toBe(false)
  await repository.close()
})

test('readOnly with a prune timer or legacy files, or not a boolean, is a TypeError', () => {
  expect(() => new JsonFileRepository(directory, { readOnly: true, pruneInterval: 1000 })).toThrow(
    '`pruneInterval` must be 0 with readOnly',
  )
  // Converting a legacy file writes one file and removes another.
  const legacyFiles = legacySessions(86_400_000)
  expect(() => new JsonFileRepository(directory, { readOnly: true, legacyFiles })).toThrow(
    '`legacyFiles` must be unset with readOnly',
  )
  expect(
    () => new JsonFileRepository(directory, { readOnly: 'yes' as unknown as boolean }),
  ).toThrow('`readOnly` must be a boolean')
})

test('prune counts the stale temp files it removes apart from the expired entries', async () => {
  // The temp file's writer (pid 99999999) does not exist; its age is judged by ctime, which
  // cannot be set back: wait for the one-second grace every temp file gets.
  const temp = path.join(directory, '.stale.json.99999999.ab.tmp')
  await waitUntilOlderThan([temp], 1000)
  const repository = new JsonFileRepository(directory)
  expect(await repository.prune()).toBe(1)
  expect(repository.stats()).toMatchObject({ deletes: 1, tempFilesRemoved: 1 })
  expect(fs.existsSync(temp)).toBe(false)
  await repository.close()
})

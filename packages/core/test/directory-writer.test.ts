/**
 * Whoever can write the directory, against an encrypted repository: they can delete entries and
 * move files about, but not forge, extend or revive one. No unencrypted file is read outside a
 * transition, while encrypting only those older than `encryption.since`, and the expiry sealed
 * with the value wins over a file time moved by `touch` or a copy.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {
  type EncryptionOptions,
  JsonFileRepository,
  type JsonFileRepositoryOptions,
  legacySessions,
} from 'json-file-repository'
import { expiryToMtime } from '../src/expiry'
import { fakeClock, listNames, makeTempDirectory, memoryLogger, removeDirectory } from './helpers'

const KEY = randomBytes(32).toString('base64')
const OLD_KEY = randomBytes(32).toString('base64')
const HOUR = 3_600_000

let directory: string
let opened: JsonFileRepository<unknown>[] = []
beforeEach(() => {
  directory = makeTempDirectory('directory-writer')
})
afterEach(async () => {
  jest.useRealTimers()
  await Promise.all(opened.map((repository) => repository.close()))
  opened = []
  removeDirectory(directory)
})

function open(encryption?: EncryptionOptions, options: JsonFileRepositoryOptions = {}) {
  const repository = new JsonFileRepository<unknown>(directory, {
    encryption,
    cache: false,
    ...options,
  })
  opened.push(repository)
  return repository
}

const plant = (name: string, value: unknown) =>
  fs.writeFileSync(path.join(directory, name), JSON.stringify(value))
const entries = () => listNames(directory).filter((name) => !name.includes('.corrupt-'))
/** Sets a file's modification time, as `touch -d` (in ms). */
const setMtime = (file: string, ms: number) => fs.utimesSync(file, ms / 1000, ms / 1000)

describe('no unencrypted file is read outside a transition', () => {
  test('a plain file planted for a key, and a 0.3 file, are neither read nor converted (get, prune, listings)', async () => {
    const logger = memoryLogger()
    const encrypted = open({ keys: [KEY] }, { legacyFiles: legacySessions(HOUR), logger })
    plant('forged.json', { user: 'admin' })
    plant('Forged_03', { cookie: { expires: null }, user: 'admin' })
    await expect(encrypted.get('forged')).resolves.toBeUndefined()
    await expect(encrypted.get('Forged_03')).resolves.toBeUndefined()
    await encrypted.prune()
    await expect(encrypted.migrate()).resolves.toEqual({
      migrated: 0,
      superseded: 0,
      expired: 0,
      corrupt: 0,
    })
    const listed: string[] = []
    for await (const key of encrypted.keys()) listed.push(key)
    expect(listed).toEqual([])
    // Not silently: a walk says how many it did not read (once), and names none.
    expect(logger.records).toEqual([
      expect.objectContaining({
        level: 'warn',
        object: { plainFiles: 1 },
        message: expect.stringMatching(/^1 unencrypted file is not read: /),
      }),
    ])
    // Nothing was sealed from them: the two planted files are all there is.
    expect(entries()).toEqual(['Forged_03', 'forged.json'])
  })

  test("during 'decrypting', a plain file planted beside an entry's sealed file does not win", async () => {
    await open({ keys: [KEY] }).set('k', { user: 'ada' })
    plant('k.json', { user: 'admin' })
    const decrypting = open({ keys: [KEY], transition: 'decrypting' })
    await expect(decrypting.get('k')).resolves.toEqual({ user: 'ada' })
  })

  test("during 'encrypting', a plain file changed since `since` is refused and never sealed; one older is read and moved", async () => {
    plant('before.json', { user: 'ada' })
    const since = Date.now() + 1000
    const encrypting = open({ keys: [KEY], transition: 'encrypting', since: since })
    // ctime cannot be set back: a file planted now is planted after a `since` in the past.
    const late = open({ keys: [KEY], transition: 'encrypting', since: Date.now() - HOUR })
    plant('planted.json', { user: 'admin' })
    await expect(late.get('planted')).resolves.toBeUndefined()
    expect(listNames(directory).filter((name) => name.startsWith('planted'))).toEqual([
      expect.stringMatching(/^planted\.json\.corrupt-\d+$/),
    ])
    plant('planted2.json', { user: 'admin' })
    await expect(late.rekey()).resolves.toBe(0)
    await expect(open({ keys: [KEY] }).get('planted2')).resolves.toBeUndefined()
    // Written before `since`: read, and moved to its sealed form.
    await expect(encrypting.get('before')).resolves.toEqual({ user: 'ada' })
    await expect(encrypting.rekey()).resolves.toBeGreaterThanOrEqual(1)
    await expect(open({ keys: [KEY] }).get('before')).resolves.toEqual({ user: 'ada' })
  })

  test('`since` is a Date or milliseconds, and only with `transition: "encrypting"`', () => {
    expect(() => open({ keys: [KEY], since: Date.now() })).toThrow(
      /`encryption.since` must be a Date or a number of milliseconds, with `transition: 'encrypting'`/,
    )
    expect(() => open({ keys: [KEY], transition: 'encrypting', since: Number.NaN })).toThrow(
      TypeError,
    )
    expect(() => open({ keys: [KEY], transition: 'encrypting', since: new Date() })).not.toThrow()
  })
})

describe('the expiry is sealed with the value', () => {
  test('a file time moved to "never" (touch, or a copy without -t) does not keep an entry alive, and prune() removes it', async () => {
    const repository = open({ keys: [KEY] })
    const clock = fakeClock()
    await repository.set('k', { user: 'ada' }, { expiresAt: Date.now() + HOUR })
    const file = repository.path('k')
    setMtime(file, Date.now())
    await expect(repository.get('k')).resolves.toEqual({ user: 'ada' })
    clock.advance(HOUR + 1)
    await expect(repository.get('k')).resolves.toBeUndefined()
    // Put back with a "never" time: prune() opens such a file for its sealed expiry.
    await open({ keys: [KEY] }).set('k2', 1, { expiresAt: Date.now() + 60_000 })
    const second = repository.path('k2')
    clock.advance(120_000)
    setMtime(second, Date.now())
    await expect(repository.prune()).resolves.toBe(1)
    expect(fs.existsSync(second)).toBe(false)
  })

  test('a file time moved later does not extend an entry: the earlier expiry wins', async () => {
    const repository = open({ keys: [KEY] })
    const clock = fakeClock()
    await repository.set('k', 1, { expiresAt: Date.now() + HOUR })
    const later = expiryToMtime(Date.now() + 100 * HOUR)
    fs.utimesSync(repository.path('k'), later, later)
    await expect(repository.getEntry('k')).resolves.toMatchObject({ value: 1 })
    clock.advance(HOUR + 1)
    await expect(repository.get('k')).resolves.toBeUndefined()
  })

  test('an older ciphertext put back after its sealed expiry is not accepted, whatever its file time', async () => {
    const repository = open({ keys: [KEY] })
    const clock = fakeClock()
    await repository.set('k', { role: 'admin' }, { expiresAt: Date.now() + HOUR })
    const file = repository.path('k')
    const copy = fs.readFileSync(file)
    await repository.set('k', { role: 'user' }, { expiresAt: Date.now() + 10 * HOUR })
    clock.advance(2 * HOUR)
    fs.writeFileSync(file, copy)
    const far = expiryToMtime(Date.now() + 100 * HOUR)
    fs.utimesSync(file, far, far)
    await expect(repository.get('k')).resolves.toBeUndefined()
  })

  test('touch() and a set that moves only the expiry write the new expiry into the seal', async () => {
    const repository = open({ keys: [KEY] })
    const clock = fakeClock()
    await repository.set('k', 1, { expiresAt: Date.now() + HOUR })
    await repository.touch('k', Date.now() + 5 * HOUR)
    clock.advance(2 * HOUR)
    // The file time says "never": only the seal holds the expiry now.
    setMtime(repository.path('k'), Date.now())
    await expect(repository.getEntry('k')).resolves.toMatchObject({ value: 1 })
    const cached = open({ keys: [KEY] }, { cache: {} })
    await cached.set('j', 1, { expiresAt: Date.now() + HOUR })
    await cached.set('j', 1, { expiresAt: Date.now() + 5 * HOUR })
    clock.advance(2 * HOUR)
    setMtime(cached.path('j'), Date.now())
    await expect(open({ keys: [KEY] }).get('j')).resolves.toBe(1)
  })
})

describe('a delete removes every form of the entry', () => {
  test('an unencrypted file and a previous key’s file do not survive a delete, nor clear()', async () => {
    await open({ keys: [OLD_KEY] }).set('k', 'old key')
    await open().set('k', 'plain')
    const current = open({ keys: [KEY, OLD_KEY] })
    await current.set('k', 'current')
    await current.delete('k')
    expect(entries()).toEqual([])
    // clear() also removes what no key of this configuration reads.
    await open({ keys: [OLD_KEY] }).set('a', 'dropped key')
    await open().set('b', 'plain')
    await open({ keys: [KEY] }).set('c', 'current')
    plant('Legacy_03', { cookie: { expires: null } })
    await expect(
      open({ keys: [KEY] }, { legacyFiles: legacySessions(HOUR) }).clear(),
    ).resolves.toBe(4)
    expect(entries()).toEqual([])
  })
})

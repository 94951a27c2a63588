/**
 * Encryption at rest: values sealed with AES-256-GCM under names that are keyed hashes of their
 * keys. A file that fails authentication is a quarantined miss; keys rotate; a copy of the
 * directory reveals no key and no value.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import {
  type EncryptionOptions,
  JsonFileRepository,
  type JsonFileRepositoryOptions,
  legacySessions,
} from 'json-file-repository'
import { expiryToMtime } from '../src/expiry'
import { parse } from '../src/format'
import { listNames, makeTempDirectory, memoryLogger, removeDirectory } from './helpers'

const KEY_A = randomBytes(32)
const KEY_B = randomBytes(32).toString('base64')
const KEY_C = randomBytes(32).toString('hex')

let directory: string
let opened: JsonFileRepository<unknown>[] = []

beforeEach(() => {
  directory = makeTempDirectory('encryption')
})
afterEach(async () => {
  await Promise.all(opened.map((repository) => repository.close()))
  opened = []
  removeDirectory(directory)
})

function open(
  encryption: EncryptionOptions | undefined,
  options: JsonFileRepositoryOptions = {},
): JsonFileRepository<unknown> {
  const repository = new JsonFileRepository<unknown>(directory, { encryption, ...options })
  opened.push(repository)
  return repository
}

const entryNames = () => listNames(directory).filter((name) => !name.includes('.corrupt-'))
const quarantined = () => listNames(directory).filter((name) => name.includes('.corrupt-'))

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

describe('encrypted round trips', () => {
  test('every JSON value round-trips through an encrypted file, read cold by another instance', async () => {
    const writer = open({ keys: [KEY_A] })
    const reader = open({ keys: [KEY_A] }, { cache: false })
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }), fc.jsonValue(), async (key, value) => {
        fc.pre(key.isWellFormed())
        await writer.set(key, value)
        // JSON has no -0, and a decrypted payload is parsed as every file is (`__proto__` and
        // `constructor.prototype` removed): what a file gives back is what `parse` makes of it.
        expect(await reader.get(key)).toEqual(parse(JSON.stringify(value)))
      }),
      { numRuns: 150 },
    )
  }, 120_000)

  test('non-ASCII keys and values and a 4 MiB value round-trip', async () => {
    const writer = open({ keys: [KEY_A] })
    const reader = open({ keys: [KEY_A] }, { cache: false })
    const large = { blob: 'é🙂\u0000x'.repeat(1 << 20) }
    const values: [string, unknown][] = [
      ['セッション', { name: 'Zoë', emoji: '🙂🚀', rtl: 'שלום', nul: '\u0000' }],
      ['a/../../b', ['\n', '\t', '"', '\\']],
      ['large', large],
    ]
    for (const [key, value] of values) await writer.set(key, value)
    for (const [key, value] of values) await expect(reader.get(key)).resolves.toEqual(value)
  }, 60_000)

  test('a file is `jfr2.<key id>.<iv>.<tag>.<ciphertext>` under a 43-character hash name, and two writes of one value differ', async () => {
    const repository = open({ keys: [KEY_A] })
    await repository.set('k', { a: 1 })
    const file = repository.path('k')
    expect(path.basename(file)).toMatch(/^[A-Za-z0-9_-]{43}\.enc$/)
    const first = fs.readFileSync(file, 'utf8')
    expect(first).toMatch(
      /^jfr2\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/,
    )
    await repository.set('k', { a: 2 })
    await repository.set('k', { a: 1 })
    const second = fs.readFileSync(file, 'utf8')
    // A fresh nonce per write: the same value never gives the same file.
    expect(second).not.toBe(first)
    expect(second.split('.')[1]).toBe(first.split('.')[1])
  })

  test('a warm get() decrypts nothing: it is a cache hit checked by stat', async () => {
    const repository = open({ keys: [KEY_A] })
    await repository.set('k', { a: 1 })
    const before = repository.stats()
    await expect(repository.get('k')).resolves.toEqual({ a: 1 })
    await expect(repository.get('k')).resolves.toEqual({ a: 1 })
    expect(repository.stats()).toMatchObject({ hits: before.hits + 2, misses: before.misses })
  })

  test('a 32-byte key given as bytes, base64 or hex, or a long secret, opens what it sealed', async () => {
    const bytes = randomBytes(32)
    for (const [sealer, opener] of [
      [bytes, bytes.toString('base64')],
      [bytes.toString('hex'), new Uint8Array(bytes)],
      [bytes.toString('base64url'), bytes],
      ['a secret of at least thirty-two characters', 'a secret of at least thirty-two characters'],
    ] as const) {
      const key = `k${String(sealer).length}`
      await open({ keys: [sealer] }).set(key, 'v')
      await expect(open({ keys: [opener] }, { cache: false }).get(key)).resolves.toBe('v')
    }
  })
})

describe('files that fail authentication are quarantined misses', () => {
  let logger: ReturnType<typeof memoryLogger>
  let repository: JsonFileRepository<unknown>
  let file: string
  let original: Buffer

  beforeEach(async () => {
    logger = memoryLogger()
    repository = open({ keys: [KEY_A] }, { cache: false, logger })
    await repository.set('victim', { user: 'ada', roles: ['admin'] })
    file = repository.path('victim')
    original = fs.readFileSync(file)
  })

  /** Puts `bytes` in the victim's file, reads it, and checks that it was moved aside. */
  async function expectQuarantinedMiss(bytes: Buffer): Promise<void> {
    for (const name of quarantined()) fs.unlinkSync(path.join(directory, name))
    fs.writeFileSync(file, bytes)
    await expect(repository.get('victim')).resolves.toBeUndefined()
    expect(fs.existsSync(file)).toBe(false)
    expect(quarantined()).toHaveLength(1)
  }

  test('a byte changed anywhere in the file', async () => {
    for (let at = 0; at < original.length; at++) {
      const tampered = Buffer.from(original)
      tampered[at] = (tampered[at] as number) ^ 0x01
      await expectQuarantinedMiss(tampered)
    }
    expect(logger.records.filter((record) => record.level === 'warn')).toHaveLength(original.length)
  }, 60_000)

  test('a truncated file, at every length', async () => {
    for (let length = 0; length < original.length; length++) {
      await expectQuarantinedMiss(original.subarray(0, length))
    }
  }, 60_000)

  test('a file renamed to another key’s name', async () => {
    await repository.set('other', { user: 'eve', roles: [] })
    fs.copyFileSync(repository.path('other'), file)
    await expectQuarantinedMiss(fs.readFileSync(file))
    await expect(repository.get('other')).resolves.toEqual({ user: 'eve', roles: [] })
  })

  test('a file sealed by a key that is not configured, at this key’s name', async () => {
    const stranger = new JsonFileRepository(makeTempDirectory('stranger'), {
      encryption: { keys: [KEY_B] },
    })
    await stranger.set('victim', { user: 'mallory', roles: ['admin'] })
    const sealed = fs.readFileSync(stranger.path('victim'))
    await stranger.close()
    removeDirectory(stranger.directory)
    await expectQuarantinedMiss(sealed)
  })

  test('a plain JSON file at this key’s name', async () => {
    await expectQuarantinedMiss(Buffer.from('{"user":"mallory","roles":["admin"]}'))
  })

  test('the warning says why, and shows nothing of the value', async () => {
    const tampered = Buffer.from(original)
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0x01
    await expectQuarantinedMiss(tampered)
    const [record] = logger.records
    expect(record?.message).toMatch(/not sealed for this name by a configured key/)
    expect(record?.message).not.toMatch(/ada|admin/)
  })
})

describe('rotation', () => {
  test('write with A, add B in front, read, write, drop A, read', async () => {
    await open({ keys: [KEY_A] }).set('k', { v: 1 })
    await open({ keys: [KEY_A] }).set('untouched', { v: 0 })
    const fileA = open({ keys: [KEY_A] }).path('k')

    const rotated = open({ keys: [KEY_B, KEY_A] })
    expect(rotated.path('k')).not.toBe(fileA)
    await expect(rotated.get('k')).resolves.toEqual({ v: 1 })
    await rotated.set('k', { v: 2 })
    // Moved on its write: the file under B's name only.
    expect(fs.existsSync(fileA)).toBe(false)
    expect(fs.existsSync(rotated.path('k'))).toBe(true)
    await expect(collect(rotated.keys())).resolves.toEqual(
      expect.arrayContaining(['k', 'untouched']),
    )

    const onlyB = open({ keys: [KEY_B] }, { cache: false })
    await expect(onlyB.get('k')).resolves.toEqual({ v: 2 })
    // Never written under B, and A is gone: unreadable (rekey() first, see the next test).
    await expect(onlyB.get('untouched')).resolves.toBeUndefined()
  })

  test('rekey() moves every entry to the first key, keeping expiries; a second run moves nothing', async () => {
    const expiresAt = Date.now() + 3_600_000
    const old = open({ keys: [KEY_A] })
    for (let i = 0; i < 20; i++) await old.set(`k${i}`, { i }, { expiresAt })
    await old.set('forever', 'never expires')
    const rotated = open({ keys: [KEY_C, KEY_A] })
    await expect(rotated.rekey()).resolves.toBe(21)
    await expect(rotated.rekey()).resolves.toBe(0)
    const onlyC = open({ keys: [KEY_C] }, { cache: false })
    await expect(onlyC.getEntry('k7')).resolves.toMatchObject({ value: { i: 7 }, expiresAt })
    await expect(onlyC.getEntry('forever')).resolves.toMatchObject({ expiresAt: undefined })
    expect(entryNames().sort()).toEqual(
      ['forever', ...Array.from({ length: 20 }, (_, i) => `k${i}`)]
        .map((key) => path.basename(onlyC.path(key)))
        .sort(),
    )
  })

  test('touch() and delete() reach an entry still under a previous key', async () => {
    await open({ keys: [KEY_A] }).set('t', 1)
    await open({ keys: [KEY_A] }).set('d', 1)
    const rotated = open({ keys: [KEY_B, KEY_A] })
    const expiresAt = Date.now() + 3_600_000
    await expect(rotated.touch('t', expiresAt)).resolves.toBe(true)
    await expect(rotated.getEntry('t')).resolves.toMatchObject({ value: 1, expiresAt })
    await expect(rotated.delete('d')).resolves.toBe(true)
    await expect(rotated.get('d')).resolves.toBeUndefined()
    expect(entryNames()).toHaveLength(1)
  })
})

describe('names and bytes reveal nothing', () => {
  test('no key and no fragment of a value appears in any name or byte of the directory', async () => {
    const repository = open({ keys: [KEY_A] }, { logger: memoryLogger() })
    const ids = Array.from({ length: 50 }, () => randomBytes(24).toString('base64url'))
    const secrets = ids.map((id) => `secret-of-${id.slice(0, 12)}`)
    for (const [i, id] of ids.entries()) {
      await repository.set(id, { email: `${secrets[i]}@example.com`, n: i })
    }
    // A quarantined file and a temp name too: everything the directory holds.
    const tampered = fs.readFileSync(repository.path(ids[0] as string))
    fs.writeFileSync(repository.path(ids[0] as string), tampered.subarray(0, 40))
    await repository.get(ids[0] as string)
    const names = listNames(directory)
    const bytes = names.map((name) => fs.readFileSync(path.join(directory, name), 'latin1'))
    const haystack = [...names, ...bytes].join('\n')
    for (const text of [...ids, ...secrets, 'example.com', 'email']) {
      for (const fragment of [text, Buffer.from(text).toString('base64url')]) {
        expect(haystack).not.toContain(fragment.slice(0, 16))
      }
    }
    expect(names.filter((name) => /^[A-Za-z0-9_-]{43}\.enc$/.test(name))).toHaveLength(49)
  })
})

describe('listing an encrypted directory', () => {
  test('keys(), entries() and list() give the keys read from inside the files', async () => {
    const repository = open({ keys: [KEY_A] })
    const expiresAt = Date.now() + 60_000
    await repository.set('ü/1', { a: 1 }, { expiresAt })
    await repository.set('plain-looking', { b: 2 })
    // Foreign files, and a file no configured key opens, are not entries.
    fs.writeFileSync(path.join(directory, 'README.txt'), 'hello')
    fs.writeFileSync(path.join(directory, 'foreign.json'), '{}')
    await new JsonFileRepository(directory, { encryption: { keys: [KEY_B] } }).set('x', 1)
    expect((await collect(repository.keys())).sort()).toEqual(['plain-looking', 'ü/1'])
    expect((await collect(repository.entries())).sort()).toEqual([
      ['plain-looking', { b: 2 }],
      ['ü/1', { a: 1 }],
    ])
    const listed = await collect(repository.list())
    expect(listed.find((info) => info.key === 'ü/1')).toMatchObject({ expiresAt })
  })

  test('prune() removes expired encrypted files from stat alone, whoever sealed them, keys or not', async () => {
    const repository = open({ keys: [KEY_A] })
    await repository.set('live', 1, { expiresAt: Date.now() + 3_600_000 })
    await repository.set('dead', 1, { expiresAt: Date.now() + 3_600_000 })
    await open({ keys: [KEY_B] }).set('dead-of-B', 1, { expiresAt: Date.now() + 3_600_000 })
    const past = expiryToMtime(Date.now() - 60_000)
    fs.utimesSync(repository.path('dead'), past, past)
    fs.utimesSync(open({ keys: [KEY_B] }).path('dead-of-B'), past, past)
    // Not even a key: stat is enough.
    await expect(open(undefined).prune()).resolves.toBe(2)
    expect(entryNames()).toEqual([path.basename(repository.path('live'))])
  })

  test('clear() removes every encrypted entry', async () => {
    const repository = open({ keys: [KEY_A] })
    for (let i = 0; i < 5; i++) await repository.set(`k${i}`, i)
    await expect(repository.clear()).resolves.toBe(5)
    expect(entryNames()).toEqual([])
  })
})

describe('turning encryption on and off', () => {
  test('without the option, encrypted files are foreign: no entry, no quarantine', async () => {
    await open({ keys: [KEY_A] }).set('k', 1)
    const plain = open(undefined)
    await expect(collect(plain.keys())).resolves.toEqual([])
    await expect(plain.get('k')).resolves.toBeUndefined()
    expect(quarantined()).toEqual([])
  })

  test("transition 'encrypting' reads plain entries and moves each to an encrypted file on its write", async () => {
    const plain = open(undefined)
    await plain.set('a', { v: 1 })
    await plain.set('b', { v: 1 })
    const encrypting = open({ keys: [KEY_A], transition: 'encrypting' })
    await expect(encrypting.get('a')).resolves.toEqual({ v: 1 })
    await encrypting.set('a', { v: 2 })
    expect(fs.existsSync(plain.path('a'))).toBe(false)
    await expect(open({ keys: [KEY_A] }, { cache: false }).get('a')).resolves.toEqual({ v: 2 })
    await expect(encrypting.delete('b')).resolves.toBe(true)
    expect(entryNames()).toEqual([path.basename(encrypting.path('a'))])
  })

  test('without a transition, a plain file is never served as an entry of an encrypted repository', async () => {
    await open(undefined).set('k', { admin: true })
    await expect(open({ keys: [KEY_A] }).get('k')).resolves.toBeUndefined()
  })

  test("transition 'decrypting' writes plain files, reads encrypted ones, and rekey() decrypts the rest", async () => {
    const encrypted = open({ keys: [KEY_A] })
    for (let i = 0; i < 10; i++) await encrypted.set(`k${i}`, { i })
    const decrypting = open({ keys: [KEY_A], transition: 'decrypting' })
    await expect(decrypting.get('k3')).resolves.toEqual({ i: 3 })
    await decrypting.set('k3', { i: 33 })
    expect(fs.readFileSync(path.join(directory, 'k3.json'), 'utf8')).toBe('{"i":33}')
    await expect(decrypting.rekey()).resolves.toBe(9)
    expect(entryNames().sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}.json`).sort())
    await expect(open(undefined).get('k9')).resolves.toEqual({ i: 9 })
  })

  test('rekey() keeps an entry already written in the current form and drops the stale one', async () => {
    await open(undefined).set('k', 'stale')
    await open({ keys: [KEY_A] }).set('k', 'newer')
    await expect(open({ keys: [KEY_A], transition: 'encrypting' }).rekey()).resolves.toBe(1)
    await expect(open({ keys: [KEY_A] }, { cache: false }).get('k')).resolves.toBe('newer')
    expect(entryNames()).toHaveLength(1)
  })
})

describe('beside updates, legacy files and read-only repositories', () => {
  test('an update of an entry found only in a previous form updates it in the current form; after a delete it re-creates nothing', async () => {
    await open(undefined).set('plain', 1)
    await open({ keys: [KEY_B] }).set('rotated', 2)
    const current = open({ keys: [KEY_A, KEY_B], transition: 'encrypting' })
    await expect(current.set('plain', 10, { update: true })).resolves.toBe(true)
    await expect(current.set('rotated', 20, { update: true })).resolves.toBe(true)
    await expect(current.set('never', 30, { update: true })).resolves.toBe(false)
    expect(entryNames()).toHaveLength(2)
    expect(entryNames().every((name) => name.endsWith('.enc'))).toBe(true)
    const reader = open({ keys: [KEY_A] }, { cache: false })
    await expect(reader.get('plain')).resolves.toBe(10)
    await expect(reader.get('rotated')).resolves.toBe(20)
    // Logged out by another process, in whatever form: an update does not bring it back.
    await open(undefined).set('plain', 3)
    await reader.delete('plain')
    await open(undefined).delete('plain')
    await expect(current.set('plain', 11, { update: true })).resolves.toBe(false)
    expect(entryNames()).toHaveLength(1)
  })

  test('while encrypting, a legacy file is converted to the encrypted form', async () => {
    const legacy = path.join(directory, 'Kx3vQ9_legacy')
    fs.writeFileSync(legacy, JSON.stringify({ cookie: { expires: null }, user: 'Ada' }))
    const repository = open(
      { keys: [KEY_A], transition: 'encrypting' },
      { legacyFiles: legacySessions(60_000) },
    )
    await expect(repository.get('Kx3vQ9_legacy')).resolves.toMatchObject({ user: 'Ada' })
    expect(entryNames()).toEqual([path.basename(repository.path('Kx3vQ9_legacy'))])
    expect(entryNames()[0]).toMatch(/\.enc$/)
    expect(fs.readFileSync(repository.path('Kx3vQ9_legacy'), 'utf8')).not.toMatch(/Ada|Kx3vQ9/)
  })

  test('rekey() of a read-only repository is refused and moves nothing', async () => {
    await open(undefined).set('k', 1)
    const before = entryNames()
    const readOnly = open({ keys: [KEY_A], transition: 'encrypting' }, { readOnly: true })
    await expect(readOnly.rekey()).rejects.toMatchObject({ code: 'ERR_READ_ONLY' })
    expect(entryNames()).toEqual(before)
  })
})

describe('the encryption option', () => {
  test.each([
    ['no key', { keys: [] }, '`encryption.keys` must hold a key'],
    ['a short secret', { keys: ['too short'] }, '32-byte keys'],
    ['a 16-byte key', { keys: [new Uint8Array(16)] }, '32-byte keys'],
    [
      "a key file's text as bytes",
      { keys: [Buffer.from(`${KEY_B}\n`)] },
      "this one holds 45 bytes: a key file's text, read without 'utf8'?",
    ],
    ['a short secret padded with spaces', { keys: [` ${'x'.repeat(31)} `] }, '32-byte keys'],
    ['keys not in an array', { keys: 'not an array' }, 'an array `keys`'],
    ['null', null, 'an array `keys`'],
    ['an unknown transition', { keys: [KEY_A], transition: 'sideways' }, '`encryption.transition`'],
  ])('%s is refused with a TypeError', (_, encryption, message) => {
    const create = () =>
      new JsonFileRepository(directory, { encryption: encryption as EncryptionOptions })
    expect(create).toThrow(TypeError)
    expect(create).toThrow(message)
  })
})

describe('files sealed by none of the configured keys', () => {
  test('a walk reports their count (never their names) once; opening scans nothing', async () => {
    const other = open({ keys: [KEY_B] })
    await other.set('a', 1)
    await other.set('b', 2)
    const logger = memoryLogger()
    const repository = open({ keys: [KEY_A] }, { logger })
    await repository.set('c', 3)
    // Nothing at start-up: the directory is never scanned there.
    expect(logger.records).toEqual([])
    const keys = []
    for await (const key of repository.keys()) keys.push(key)
    expect(keys).toEqual(['c'])
    const warning = expect.objectContaining({
      level: 'warn',
      object: { foreignFiles: 2 },
      message:
        '2 encrypted files are sealed by none of the configured keys: they are skipped (encrypted under another key? add it to `encryption.keys`)',
    })
    expect(logger.records).toEqual([warning])
    // Once per repository, whatever walks after.
    await expect(repository.rekey()).resolves.toBe(0)
    expect(logger.records).toEqual([warning])
    expect(entryNames()).toHaveLength(3)
  })

  test('unencrypted, a walk reports the encrypted files it cannot see', async () => {
    await open({ keys: [KEY_B] }).set('a', 1)
    const logger = memoryLogger()
    await expect(collect(open(undefined, { logger }).keys())).resolves.toEqual([])
    expect(logger.records).toEqual([expect.objectContaining({ object: { foreignFiles: 1 } })])
  })

  test('rekey() reports them too', async () => {
    await open({ keys: [KEY_B] }).set('a', 1)
    const logger = memoryLogger()
    await expect(open({ keys: [KEY_A] }, { logger }).rekey()).resolves.toBe(0)
    expect(logger.records).toEqual([
      expect.objectContaining({
        object: { foreignFiles: 1 },
        message: expect.stringMatching(/^1 encrypted file is sealed by none/),
      }),
    ])
  })
})

/**
 * Hostile keys and hostile files: nothing outside the directory is ever read, written or
 * removed, and whatever sits at a key's path is a clean miss, reported to the logger.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { JsonFileRepository, JsonFileRepositoryError } from 'json-file-repository'
import { listNames, makeTempDirectory, memoryLogger, removeDirectory } from './helpers'

let root: string
beforeAll(() => {
  root = makeTempDirectory('hostile')
})
afterAll(() => removeDirectory(root))

let caseNumber = 0
/** A parent directory holding the repository and the "outside" it must never touch. */
function setUp() {
  caseNumber++
  const parent = path.join(root, `case-${caseNumber}`)
  fs.mkdirSync(parent)
  const outside = path.join(parent, 'outside.json')
  fs.writeFileSync(outside, '{"secret":"outside"}')
  const logger = memoryLogger()
  const repository = new JsonFileRepository<unknown>(path.join(parent, 'repository'), { logger })
  const warnings = () => logger.records.filter((record) => record.level === 'warn')
  return { parent, outside, repository, logger, warnings }
}

function expectOutsideUntouched(parent: string, outside: string) {
  expect(listNames(parent)).toEqual(['outside.json', 'repository'])
  expect(fs.readFileSync(outside, 'utf8')).toBe('{"secret":"outside"}')
}

describe('hostile keys', () => {
  const hostileKeys: [string, unknown][] = [
    ['../x', '../x'],
    ['../outside', '../outside'],
    ['/abs', '/abs'],
    ['an absolute path to the outside file', '__OUTSIDE__'],
    ['a/b', 'a/b'],
    ['a\\b', 'a\\b'],
    ['.', '.'],
    ['..', '..'],
    ['...', '...'],
    ['empty', ''],
    ['NUL inside', 'a\0b'],
    ['NUL alone', '\0'],
    ['10,000 characters', 'k'.repeat(10_000)],
    ['the longest safe key (195 characters)', 's'.repeat(195)],
    ['one character more (196)', 's'.repeat(196)],
    ['unicode', 'é日本🎉 ﷺ'],
    ['long unicode (4-byte UTF-8)', '🎉'.repeat(60)],
    ['a lone high surrogate', 'a\uD800b'],
    ['a lone low surrogate', '\uDC00'],
    ['spaces', '  '],
    ['a file name', 'a.json'],
    ['a temp-like name', '.a.json.1.ff.tmp'],
    ['an encoded-looking name', '~YQ'],
    ['a quarantine-like name', 'a.json.corrupt-1'],
    ['newline', 'a\nb'],
    ['CON', 'CON'],
    ['__proto__', '__proto__'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { toString: () => '../evil' }],
    ['an object without prototype', Object.create(null)],
    ['a symbol', Symbol('key')],
    ['an array', ['..', 'x']],
  ]

  test.each(hostileKeys)(
    '%s is stored inside the directory and round-trips, or rejected with ERR_INVALID_KEY',
    async (_, rawKey) => {
      const { parent, outside, repository } = setUp()
      const key = (rawKey === '__OUTSIDE__' ? outside : rawKey) as string
      const value = { key: typeof key === 'string' ? key : typeof key }
      const set = await repository.set(key, value).then(
        () => 'stored',
        (error) => error,
      )
      if (set === 'stored') {
        expect(path.dirname(repository.path(key))).toBe(repository.directory)
        await expect(repository.get(key)).resolves.toEqual(value)
        await expect(repository.has(key)).resolves.toBe(true)
        const keys: string[] = []
        for await (const listed of repository.keys()) keys.push(listed)
        expect(keys).toEqual([key])
        expect(listNames(repository.directory)).toEqual([path.basename(repository.path(key))])
        await expect(repository.touch(key, Date.now() + 60_000)).resolves.toBe(true)
        expectOutsideUntouched(parent, outside)
        await expect(repository.delete(key)).resolves.toBe(true)
        await expect(repository.get(key)).resolves.toBeUndefined()
      } else {
        expect(set).toMatchObject({ name: 'JsonFileRepositoryError', code: 'ERR_INVALID_KEY' })
        const invalid = expect.objectContaining({ code: 'ERR_INVALID_KEY' })
        await expect(repository.get(key)).rejects.toEqual(invalid)
        await expect(repository.getEntry(key)).rejects.toEqual(invalid)
        await expect(repository.has(key)).rejects.toEqual(invalid)
        await expect(repository.delete(key)).rejects.toEqual(invalid)
        await expect(repository.touch(key, undefined)).rejects.toEqual(invalid)
        expect(() => repository.path(key)).toThrow(invalid)
      }
      expect(listNames(repository.directory)).toEqual([])
      expectOutsideUntouched(parent, outside)
      expect(fs.existsSync('/abs')).toBe(false)
      await repository.close()
    },
  )

  test('keys that must be rejected are rejected, and keys that fit are stored', async () => {
    const { repository } = setUp()
    for (const key of ['', 'k'.repeat(10_000), 's'.repeat(196), 'a\uD800b', '\uDC00', 42, null]) {
      await expect(repository.set(key as string, 1)).rejects.toMatchObject({
        code: 'ERR_INVALID_KEY',
      })
    }
    for (const key of ['../x', '/abs', 'a/b', 'a\\b', '.', '..', 'a\0b', 's'.repeat(195), '日本']) {
      await expect(repository.set(key, 1)).resolves.toBe(true)
    }
    expect(listNames(repository.directory)).toHaveLength(9)
    await repository.close()
  })

  test('the error of a rejected key names the key, shortened, and has no file', async () => {
    const { repository } = setUp()
    const error = (await repository
      .get('k'.repeat(10_000))
      .catch((caught) => caught)) as JsonFileRepositoryError
    expect(error).toBeInstanceOf(JsonFileRepositoryError)
    expect(error.file).toBeUndefined()
    expect(error.key).toBe('k'.repeat(10_000))
    expect(error.message.length).toBeLessThan(200)
    expect(error.message).toContain('too long')
    await repository.close()
  })
})

describe('hostile files', () => {
  test('a symlink at a key’s path to a file outside: get() misses without reading it', async () => {
    const { parent, outside, repository, warnings } = setUp()
    const file = repository.path('link')
    fs.symlinkSync(outside, file)
    await expect(repository.get('link')).resolves.toBeUndefined()
    await expect(repository.has('link')).resolves.toBe(false)
    expect(warnings()).toHaveLength(1)
    expect(fs.existsSync(file)).toBe(false)
    const [aside] = listNames(repository.directory)
    expect(aside).toMatch(/^link\.json\.corrupt-\d+$/)
    expect(fs.lstatSync(path.join(repository.directory, aside as string)).isSymbolicLink()).toBe(
      true,
    )
    expectOutsideUntouched(parent, outside)
    await repository.close()
  })

  test('a symlink planted over a cached key is noticed, and its target is not read', async () => {
    const { parent, outside, repository } = setUp()
    await repository.set('cached', { mine: true })
    await expect(repository.get('cached')).resolves.toEqual({ mine: true })
    const file = repository.path('cached')
    fs.unlinkSync(file)
    fs.symlinkSync(outside, file)
    await expect(repository.get('cached')).resolves.toBeUndefined()
    expectOutsideUntouched(parent, outside)
    await repository.close()
  })

  test('set() replaces a symlink at a key’s path and never writes the outside file', async () => {
    const { parent, outside, repository } = setUp()
    const file = repository.path('link')
    fs.symlinkSync(outside, file)
    const before = fs.statSync(outside)
    await repository.set('link', { written: 'inside' })
    expect(fs.lstatSync(file).isFile()).toBe(true)
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ written: 'inside' })
    expectOutsideUntouched(parent, outside)
    expect(fs.statSync(outside).mtimeMs).toBe(before.mtimeMs)
    await expect(repository.get('link')).resolves.toEqual({ written: 'inside' })
    await repository.close()
  })

  test('delete() of a symlink removes the link only; keys() and touch() ignore it', async () => {
    const { parent, outside, repository } = setUp()
    const file = repository.path('link')
    fs.symlinkSync(outside, file)
    const keys: string[] = []
    for await (const key of repository.keys()) keys.push(key)
    expect(keys).toEqual([])
    await expect(repository.touch('link', Date.now() + 60_000)).resolves.toBe(false)
    await expect(repository.prune()).resolves.toBe(0)
    await expect(repository.delete('link')).resolves.toBe(true)
    expect(listNames(repository.directory)).toEqual([])
    expectOutsideUntouched(parent, outside)
    await repository.close()
  })

  test('a FIFO at a key’s path: get() returns promptly with a miss', async () => {
    const { repository, warnings } = setUp()
    const file = repository.path('fifo')
    execFileSync('mkfifo', [file])
    // No writer ever opens the FIFO: a read that waited for one would never settle. The deadline
    // only turns that into a clear failure; a loaded machine never comes near it.
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('get() waits on the FIFO')), 20_000)
    })
    try {
      await expect(Promise.race([repository.get('fifo'), deadline])).resolves.toBeUndefined()
    } finally {
      clearTimeout(timer)
    }
    expect(warnings()).toHaveLength(1)
    execFileSync('mkfifo', [file])
    await expect(repository.touch('fifo', Date.now() + 60_000)).resolves.toBe(false)
    await repository.set('fifo', 'a value')
    await expect(repository.get('fifo')).resolves.toBe('a value')
    await repository.close()
  })

  test('a directory at a key’s path: get() misses, set() and delete() move it aside', async () => {
    const { repository, warnings } = setUp()
    const file = repository.path('dir')
    fs.mkdirSync(file)
    fs.writeFileSync(path.join(file, 'inner'), 'x')
    await expect(repository.get('dir')).resolves.toBeUndefined()
    expect(warnings()).toHaveLength(1)
    fs.mkdirSync(file)
    await repository.set('dir', 'a value')
    await expect(repository.get('dir')).resolves.toBe('a value')
    expect(warnings()).toHaveLength(2)
    fs.unlinkSync(file)
    fs.mkdirSync(file)
    await expect(repository.delete('dir')).resolves.toBe(true)
    expect(fs.existsSync(file)).toBe(false)
    expect(warnings()).toHaveLength(3)
    const names = listNames(repository.directory)
    expect(names).toHaveLength(3)
    for (const name of names) expect(name).toMatch(/^dir\.json\.corrupt-\d+$/)
    await repository.close()
  })

  test.each([
    ['empty', ''],
    ['truncated', '{"user":{"name":"Ad'],
    ['not JSON', 'hello'],
    ['binary', '\u0000\u0001\uFFFD'],
  ])('a file of %s JSON is a miss, moved aside and reported', async (_, content) => {
    const { repository, warnings } = setUp()
    const file = repository.path('bad')
    fs.writeFileSync(file, content)
    await expect(repository.get('bad')).resolves.toBeUndefined()
    await expect(repository.get('bad')).resolves.toBeUndefined()
    expect(warnings()).toHaveLength(1)
    expect(warnings()[0]?.object).toMatchObject({
      key: 'bad',
      file,
      err: expect.objectContaining({ code: 'ERR_CORRUPT_FILE' }),
    })
    expect(repository.stats().quarantined).toBe(1)
    const [aside] = listNames(repository.directory)
    expect(aside).toMatch(/^bad\.json\.corrupt-\d+$/)
    expect(fs.readFileSync(path.join(repository.directory, aside as string), 'utf8')).toBe(content)
    await repository.set('bad', 'fresh')
    await expect(repository.get('bad')).resolves.toBe('fresh')
    await repository.close()
  })

  test('entries() skips corrupt files and reports each of them', async () => {
    const { repository, warnings } = setUp()
    await repository.set('good', 1)
    for (const key of ['bad1', 'bad2', 'bad3']) fs.writeFileSync(repository.path(key), '{')
    const entries: [string, unknown][] = []
    for await (const entry of repository.entries()) entries.push(entry)
    expect(entries).toEqual([['good', 1]])
    expect(warnings()).toHaveLength(3)
    expect(repository.stats().quarantined).toBe(3)
    await repository.close()
  })

  test.each([
    ['at the top', '{"__proto__":{"isAdmin":true},"a":1}', { a: 1 }],
    ['one level down', '{"user":{"__proto__":{"isAdmin":true},"id":"u"}}', { user: { id: 'u' } }],
    [
      'three levels down, in an array',
      '{"a":[{"b":{"__proto__":{"isAdmin":true},"c":1}}]}',
      { a: [{ b: { c: 1 } }] },
    ],
    [
      'escaped as \\u005f\\u005fproto\\u005f\\u005f',
      '{"user":{"\\u005f\\u005fproto\\u005f\\u005f":{"isAdmin":true}}}',
      { user: {} },
    ],
    [
      'constructor.prototype at the top',
      '{"constructor":{"prototype":{"isAdmin":true}},"a":1}',
      { a: 1 },
    ],
    [
      'constructor.prototype two levels down',
      '{"x":{"user":{"constructor":{"prototype":{"isAdmin":true}}}}}',
      { x: { user: {} } },
    ],
  ])(
    'prototype poisoning %s is removed on every read, from the file and from the cache',
    async (_, text, expected) => {
      const { repository } = setUp()
      fs.writeFileSync(repository.path('proto'), text)
      for (let read = 0; read < 2; read++) {
        const value = await repository.get('proto')
        expect(value).toEqual(expected)
        // What app code does with a session's user: it must not be handed `isAdmin`.
        const user = Object.assign({}, (value as { user?: object }).user)
        expect((user as { isAdmin?: unknown }).isAdmin).toBeUndefined()
        expect(JSON.stringify(value)).not.toContain('isAdmin')
      }
      expect(repository.stats()).toMatchObject({ misses: 1, hits: 1 })
      await repository.close()
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined()
    },
  )

  test('by default a corrupt file is reported as a process warning', async () => {
    const parent = path.join(root, 'default-logger')
    const repository = new JsonFileRepository(parent)
    fs.writeFileSync(repository.path('bad'), '{')
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      await expect(repository.get('bad')).resolves.toBeUndefined()
      expect(emitWarning).toHaveBeenCalledTimes(1)
      expect(emitWarning).toHaveBeenCalledWith(
        expect.stringMatching(/^The file of key "bad" is invalid JSON; it was moved aside/),
        'JsonFileRepository',
      )
    } finally {
      emitWarning.mockRestore()
    }
    await repository.close()
  })
})

/**
 * What a misuse of the constructor says: unknown options with the closest known name, and the
 * value shown as it is (`''`, `{}`), a file where the directory should be.
 */
import fs from 'node:fs'
import path from 'node:path'
import {
  checkOptionNames,
  JsonFileRepository,
  JsonFileRepositoryError,
  type JsonFileRepositoryOptions,
} from 'json-file-repository'
import { makeTempDirectory, removeDirectory, thrown } from './helpers'

let directory: string
beforeEach(() => {
  directory = makeTempDirectory('options')
})
afterEach(() => removeDirectory(directory))

/** Options with names TypeScript would reject, as JavaScript passes them. */
const untyped = (options: object) => options as JsonFileRepositoryOptions

describe('unknown options', () => {
  test.each([
    ['pruneIntervall', 'pruneInterval'],
    ['fsynch', 'fsync'],
    ['FileMode', 'fileMode'],
    ['directorymode', 'directoryMode'],
    ['touchafter', 'touchAfter'],
    ['loger', 'logger'],
    ['caches', 'cache'],
  ])('`%s` is a TypeError that suggests `%s`', (name, suggestion) => {
    const error = thrown(() => new JsonFileRepository(directory, untyped({ [name]: 1 })))
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe(`Unknown option \`${name}\`: did you mean \`${suggestion}\`?`)
  })

  test('a name close to none lists the options', () => {
    const error = thrown(() => new JsonFileRepository(directory, untyped({ secret: 'x' })))
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe(
      'Unknown option `secret`; the options are `cache`, `fsync`, `fileMode`, `directoryMode`, `pruneInterval`, `touchAfter`, `logger`, `readOnly`, `maxFileSize`, `allowSharedDirectory`, `legacyFiles`, `encryption`',
    )
  })

  test('an unknown cache option is named with its path', () => {
    const error = thrown(
      () => new JsonFileRepository(directory, untyped({ cache: { maxEntry: 10 } })),
    )
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe('Unknown option `cache.maxEntry`: did you mean `cache.maxEntries`?')
  })

  test('an unknown encryption option is named with its path, and no key is shown', () => {
    const key = 'k'.repeat(40)
    const error = thrown(
      () =>
        new JsonFileRepository(
          directory,
          untyped({ encryption: { keys: [key], transtion: 'encrypting' } }),
        ),
    )
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe(
      'Unknown option `encryption.transtion`: did you mean `encryption.transition`?',
    )
    const given = thrown(() => new JsonFileRepository(directory, untyped({ encryption: key })))
    expect(given.message).toBe(
      '`encryption` must be an object with an array `keys`, got a string (values of this option are never shown)',
    )
  })

  test('nothing is created when an option is unknown', () => {
    const target = path.join(directory, 'never')
    expect(() => new JsonFileRepository(target, untyped({ fsynch: false }))).toThrow(TypeError)
    expect(fs.existsSync(target)).toBe(false)
  })

  test('every known option, undefined ones too, is accepted', async () => {
    const repository = new JsonFileRepository(directory, {
      cache: { maxEntries: 10, maxBytes: 10_000 },
      fsync: false,
      fileMode: 0o600,
      directoryMode: 0o700,
      pruneInterval: 0,
      touchAfter: undefined,
      logger: undefined,
    })
    await repository.close()
  })

  test('checkOptionNames, exported for packages that extend the options', () => {
    expect(() => checkOptionNames({ ttl: 1, directory: 'x' }, ['ttl', 'directory'])).not.toThrow()
    expect(() => checkOptionNames({ tll: 1 }, ['ttl', 'directory'])).toThrow(
      new TypeError('Unknown option `tll`: did you mean `ttl`?'),
    )
    expect(() => checkOptionNames({ maxByte: 1 }, ['maxBytes'], 'x.')).toThrow(
      new TypeError('Unknown option `x.maxByte`: did you mean `x.maxBytes`?'),
    )
    expect(() => checkOptionNames({ zzzzzz: 1 }, ['a', 'b'], 'x.')).toThrow(
      new TypeError('Unknown option `x.zzzzzz`; the options are `x.a`, `x.b`'),
    )
  })
})

describe('messages show the value given', () => {
  test("an empty directory shows ''", () => {
    const error = thrown(() => new JsonFileRepository(''))
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe("`directory` must be a non-empty string, got ''")
  })

  test('a directory that is not a string shows what it is', () => {
    expect(thrown(() => new JsonFileRepository(undefined as unknown as string)).message).toBe(
      '`directory` must be a non-empty string, got undefined',
    )
    expect(thrown(() => new JsonFileRepository({ path: 'x' } as unknown as string)).message).toBe(
      "`directory` must be a non-empty string, got { path: 'x' }",
    )
  })

  test('a logger without methods shows the object, not [object Object]', () => {
    const error = thrown(() => new JsonFileRepository(directory, { logger: {} as never }))
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe('`logger` must be an object with warn() and error() methods, got {}')
    expect(
      thrown(() => new JsonFileRepository(directory, { logger: { warn: 1 } as never })).message,
    ).toBe('`logger` must be an object with warn() and error() methods, got { warn: 1 }')
  })

  test('a value of the wrong type shows its type', () => {
    expect(thrown(() => new JsonFileRepository(directory, untyped({ fsync: 'no' }))).message).toBe(
      "`fsync` must be a boolean, got 'no'",
    )
    expect(
      thrown(() => new JsonFileRepository(directory, untyped({ pruneInterval: '600' }))).message,
    ).toBe("`pruneInterval` must be a number of milliseconds (0 = off), got '600'")
  })
})

describe('a file where the directory should be', () => {
  test('is ERR_IO "is a file, not a directory", with the ENOTDIR as cause', () => {
    const file = path.join(directory, 'sessions')
    fs.writeFileSync(file, 'not a directory')
    const error = thrown(() => new JsonFileRepository(file))
    expect(error).toBeInstanceOf(JsonFileRepositoryError)
    expect(error).toMatchObject({ code: 'ERR_IO', file, cause: { code: 'ENOTDIR' } })
    expect(error.message).toBe(`${file} is a file, not a directory`)
  })

  test('a file in the middle of the path keeps the system message', () => {
    const file = path.join(directory, 'file')
    fs.writeFileSync(file, '')
    const error = thrown(() => new JsonFileRepository(path.join(file, 'sessions')))
    expect(error).toMatchObject({ code: 'ERR_IO', cause: { code: 'ENOTDIR' } })
    expect(error.message).toMatch(/^Cannot create the directory .*: ENOTDIR/)
  })
})

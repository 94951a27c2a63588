/**
 * The behaviour of the core's `SessionFiles` (options, warnings, expiry, hostile ids and files),
 * written once: run by the core against `SessionFiles` itself, and by each adapter against its
 * `FileStore`, through its callbacks (see {@link promisedStore}).
 */
import fs from 'node:fs'
import path from 'node:path'
import { makeTempDirectory, removeDirectory } from './files'
import type { CallbackStore } from './session-store.contract'
import { call, fakeClock, thrown, waitFor } from './waits'

/** The promise API of `SessionFiles`, which each adapter's `FileStore` stands on. */
export interface SessionFilesUnderTest {
  repository: {
    path(key: string): string
    getEntry(key: string): Promise<{ expiresAt?: number } | undefined>
  }
  set(sessionId: string, session: object): Promise<void>
  get(sessionId: string): Promise<unknown>
  destroy(sessionId: string): Promise<void>
  prune(): Promise<number>
  close(): Promise<void>
}

/** A `FileStore` of an adapter, its callbacks made promises. */
export function promisedStore(
  store: CallbackStore & Pick<SessionFilesUnderTest, 'repository' | 'prune' | 'close'>,
): SessionFilesUnderTest {
  return {
    repository: store.repository,
    set: (id, session) => call<void>((done) => store.set(id, session as never, done)) as never,
    get: (id) => call((done) => store.get(id, done)),
    destroy: (id) => call<void>((done) => store.destroy(id, done)) as never,
    prune: () => store.prune(),
    close: () => store.close(),
  }
}

const ID = 'Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp' // shaped like @fastify/session's default ids

function session(data: Record<string, unknown> = {}, cookie: Record<string, unknown> = {}) {
  return { cookie: { originalMaxAge: null, expires: null, path: '/', ...cookie }, ...data }
}

/**
 * @param name What is tested: `SessionFiles`, `FileStore`.
 * @param open Opens the store with its constructor's argument, as given (a directory or the
 *   options, valid or not).
 * @param JsonFileRepositoryError The core's error class, as the package under test exports it.
 */
export function describeSessionFiles(
  name: string,
  open: (options: unknown) => SessionFilesUnderTest,
  JsonFileRepositoryError: new (...args: never[]) => Error,
): void {
  describe(`${name}: the session files`, () => {
    let directory: string
    let store: SessionFilesUnderTest | undefined
    const warnings: string[] = []
    const logger = {
      warn: (_: object, message?: string) => warnings.push(message ?? ''),
      error: () => {},
    }
    const opened = (options: Record<string, unknown> = {}) => {
      store = open({ directory, logger, fsync: false, ...options })
      return store
    }

    beforeEach(() => {
      directory = makeTempDirectory('session-files')
      warnings.length = 0
    })
    afterEach(async () => {
      jest.useRealTimers()
      await store?.close()
      store = undefined
      removeDirectory(directory)
    })

    test('invalid options throw a TypeError naming the option', () => {
      expect(() => open({ directory, ttl: -1 })).toThrow(/`ttl`/)
      expect(() => open({ directory, touchAfter: Number.NaN })).toThrow(/`touchAfter`/)
      expect(() => open({ directory, pruneInterval: -5 })).toThrow(/`pruneInterval`/)
      expect(() => open({ directory: '' })).toThrow(/`directory`/)
    })

    describe('messages for misuse', () => {
      test.each([
        ['pruneIntervall', 'pruneInterval'],
        ['fsynch', 'fsync'],
        ['tll', 'ttl'],
        ['touchafter', 'touchAfter'],
        ['directroy', 'directory'],
      ])('an unknown option `%s` is a TypeError that suggests `%s`', (option, suggestion) => {
        const error = thrown(() => open({ directory, [option]: 1 }))
        expect(error).toBeInstanceOf(TypeError)
        expect(error.message).toBe(`Unknown option \`${option}\`: did you mean \`${suggestion}\`?`)
      })

      test('an option of connect-redis close to none lists the options', () => {
        const error = thrown(() => open({ directory, client: {} }))
        expect(error).toBeInstanceOf(TypeError)
        expect(error.message).toMatch(
          /^Unknown option `client`; the options are `directory`, `ttl`, /,
        )
      })

      test("a directory '' shows the empty string", () => {
        const error = thrown(() => open(''))
        expect(error).toBeInstanceOf(TypeError)
        expect(error.message).toBe("`directory` must be a non-empty string, got ''")
      })

      test('options that are neither a directory nor an object show what they are', () => {
        expect(thrown(() => open(42)).message).toBe(
          '`options` must be a directory or an object with a `directory`, got 42',
        )
        expect(thrown(() => open({})).message).toBe(
          '`directory` must be a non-empty string, got undefined',
        )
      })

      test('a logger without methods shows the object', () => {
        const error = thrown(() => open({ directory, logger: {} }))
        expect(error).toBeInstanceOf(TypeError)
        expect(error.message).toBe(
          '`logger` must be an object with warn() and error() methods, got {}',
        )
      })

      test('a ttl that is not a number shows it quoted', () => {
        expect(thrown(() => open({ directory, ttl: '3600' })).message).toBe(
          "`ttl` must be a positive number of milliseconds, got '3600'",
        )
      })

      test('a file where the directory should be says so, as ERR_IO', () => {
        const file = path.join(directory, 'sessions')
        fs.writeFileSync(file, '')
        const error = thrown(() => open(file))
        expect(error).toBeInstanceOf(JsonFileRepositoryError)
        expect(error).toMatchObject({ code: 'ERR_IO', cause: { code: 'ENOTDIR' } })
        expect(error.message).toBe(`${file} is a file, not a directory`)
      })
    })

    describe('a ttl in seconds by mistake', () => {
      test('a ttl under a minute is reported once through the logger', () => {
        opened({ ttl: 3600 })
        expect(warnings).toEqual([
          '`ttl` is 3600 ms (3.6 s): FileStore durations are milliseconds, not seconds (for 3600 seconds, write `ttl: 3600000`)',
        ])
      })

      test('a ttl of a minute or more, or none, is not reported', async () => {
        await opened({ ttl: 60_000 }).close()
        opened()
        expect(warnings).toEqual([])
      })

      test('without a logger, it is a process warning', () => {
        const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
        try {
          store = open({ directory, ttl: 30 })
          expect(emitWarning.mock.calls).toEqual([
            [
              expect.stringMatching(/^`ttl` is 30 ms \(0\.03 s\): FileStore durations are/),
              'FileStore',
            ],
          ])
        } finally {
          emitWarning.mockRestore()
        }
      })
    })

    describe('expiry', () => {
      test('an expired session is never returned and its file is removed', async () => {
        const clock = fakeClock()
        const store = opened()
        const expires = Date.now() + 100
        await store.set(ID, session({ a: 1 }, { originalMaxAge: 100, expires: new Date(expires) }))
        expect(await store.get(ID)).toMatchObject({ a: 1 })
        clock.set(expires - 1)
        expect(await store.get(ID)).toMatchObject({ a: 1 })
        clock.set(expires)
        expect(await store.get(ID)).toBeNull()
        expect(fs.existsSync(store.repository.path(ID))).toBe(false)
      })

      test('a session whose cookie has no expiry lives for ttl', async () => {
        const clock = fakeClock()
        const store = opened({ ttl: 100 })
        const savedAt = Date.now()
        await store.set(ID, session({ a: 1 }))
        expect(await store.get(ID)).toMatchObject({ a: 1, cookie: { expires: null } })
        expect((await store.repository.getEntry(ID))?.expiresAt).toBe(savedAt + 100)
        clock.set(savedAt + 99)
        expect(await store.get(ID)).toMatchObject({ a: 1, cookie: { expires: null } })
        clock.set(savedAt + 100)
        expect(await store.get(ID)).toBeNull()
      })

      test('abandoned sessions are removed by the prune timer without anyone asking', async () => {
        const clock = fakeClock()
        const store = opened({ pruneInterval: 50 })
        await store.set(ID, session({}, { originalMaxAge: 30, expires: new Date(Date.now() + 30) }))
        await store.set(
          'kept',
          session({}, { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) }),
        )
        clock.advance(30)
        // The timer is real: wait for what it does.
        expect(await waitFor(() => !fs.existsSync(store.repository.path(ID)))).toBe(true)
        expect(fs.readdirSync(directory).sort()).toEqual(['kept.json'])
      })

      test('prune() resolves to the number of expired sessions removed', async () => {
        const clock = fakeClock()
        const store = opened()
        for (const id of ['a', 'b', 'c']) {
          await store.set(
            id,
            session({}, { originalMaxAge: 20, expires: new Date(Date.now() + 20) }),
          )
        }
        await store.set('d', session())
        clock.advance(20)
        expect(await store.prune()).toBe(3)
        expect(fs.readdirSync(directory)).toEqual(['d.json'])
      })
    })

    describe('hostile ids, files and values', () => {
      test('get of an id no file can have is a miss; set of it is a clear error', async () => {
        const store = opened()
        expect(await store.get('')).toBeNull()
        expect(await store.get('x'.repeat(10_000))).toBeNull()
        await expect(store.set('', session())).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' })
        await expect(store.destroy('')).resolves.toBeUndefined()
      })

      test('ids with path characters stay inside the directory', async () => {
        const store = opened()
        for (const id of ['../escape', '/etc/passwd', 'a/b', '..', '.', 'a\\b', 'nul\0byte']) {
          await store.set(id, session({ id }))
          expect(await store.get(id)).toMatchObject({ id })
          expect(path.dirname(store.repository.path(id))).toBe(directory)
        }
        expect(fs.readdirSync(path.dirname(directory)).filter((name) => name === 'escape')).toEqual(
          [],
        )
        expect(fs.readdirSync(directory)).toHaveLength(7)
      })

      test('a corrupt file is a logged miss', async () => {
        const store = opened()
        fs.writeFileSync(path.join(directory, `${ID}.json`), '{"cookie": {"path": "/"')
        expect(await store.get(ID)).toBeNull()
        expect(warnings.join('\n')).toMatch(/invalid JSON/)
      })

      test.each([['[1,2]'], ['42'], ['"text"'], ['null']])(
        'JSON that is not a session (%s) is a logged miss',
        async (json) => {
          const store = opened()
          fs.writeFileSync(path.join(directory, `${ID}.json`), json)
          expect(await store.get(ID)).toBeNull()
          expect(warnings.join('\n')).toMatch(/no session object/)
        },
      )

      test('a session JSON cannot hold is an error, and nothing is written', async () => {
        const store = opened()
        const circular: Record<string, unknown> = session({ a: 1 })
        circular.self = circular
        await expect(store.set(ID, circular)).rejects.toMatchObject({ code: 'ERR_INVALID_VALUE' })
        await expect(store.set(ID, session({ big: 1n }))).rejects.toBeInstanceOf(
          JsonFileRepositoryError,
        )
        expect(fs.readdirSync(directory)).toEqual([])
      })
    })
  })
}

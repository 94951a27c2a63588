/**
 * `SessionFiles`, the session layer both adapters stand on, tested here through its own
 * promises: the contract each adapter's `FileStore` also runs through its callbacks.
 */
import {
  describeSessionFiles,
  makeTempDirectory,
  removeDirectory,
} from '@json-file-repository/test-helpers'
import {
  JsonFileRepositoryError,
  legacySessions,
  SessionFiles,
  type SessionFilesOptions,
} from 'json-file-repository'

describeSessionFiles(
  'SessionFiles',
  (options) => new SessionFiles(options as SessionFilesOptions, legacySessions),
  JsonFileRepositoryError,
)

describe('SessionFiles: the defaults of the session layer', () => {
  const ID = 'Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp'
  const session = (data: object) => ({ cookie: { expires: null, path: '/' }, ...data })
  let directory: string
  beforeEach(() => {
    directory = makeTempDirectory('session-defaults')
  })
  afterEach(() => {
    jest.restoreAllMocks()
    removeDirectory(directory)
  })

  // Options given as `undefined` take the session layer's defaults, not the repository's.
  test.each([
    ['left out', {}],
    [
      'given as undefined',
      { ttl: undefined, touchAfter: undefined, pruneInterval: undefined, maxFileSize: undefined },
    ],
  ])(
    '%s: a day of ttl, a minute of touchAfter, a prune every ten minutes, files of 1 MiB',
    async (_, options) => {
      const setInterval = jest.spyOn(global, 'setInterval')
      const files = new SessionFiles({ directory, ...options }, legacySessions)
      try {
        expect(setInterval).toHaveBeenCalledWith(expect.any(Function), 600_000)
        const before = Date.now()
        await files.set(ID, session({ n: 1 }))
        const expiresAt = (await files.repository.getEntry(ID))?.expiresAt as number
        expect(expiresAt).toBeGreaterThanOrEqual(before + 86_400_000)
        expect(expiresAt).toBeLessThanOrEqual(Date.now() + 86_400_000)
        // Saved again at once: the expiry would move by far less than a minute.
        await files.set(ID, session({ n: 1 }))
        expect(files.repository.stats()).toMatchObject({ writes: 1, touches: 0 })
        const large = 'x'.repeat(1024 * 1024)
        await expect(files.set('large', session({ large }))).rejects.toMatchObject({
          code: 'ERR_INVALID_VALUE',
        })
        await files.set('fits', session({ fits: large.slice(100) }))
      } finally {
        await files.close()
      }
    },
  )
})

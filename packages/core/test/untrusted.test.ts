/**
 * What another local user, or a hostile file, can do to a repository (issue 11): a directory
 * that others can write or own, files of another user, files too large to read, a path where no
 * directory can be made, and a cache of text V8 stores two bytes per character.
 */
import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { JsonFileRepository, JsonFileRepositoryError } from 'json-file-repository'
import {
  builtPackage,
  listNames,
  makeTempDirectory,
  memoryLogger,
  readableCopy,
  removeDirectory,
} from './helpers'

const NOBODY = 65534
const isRoot = process.geteuid?.() === 0
/** Tests that make another user's files need root; where it is missing they say so. */
const asRoot = isRoot ? test : test.skip
if (!isRoot) console.log("Skipped the tests of other users' files and directories: not root")

let root: string
let caseNumber = 0
beforeAll(() => {
  root = makeTempDirectory('untrusted')
})
afterAll(() => removeDirectory(root))

/** A new directory under the (safe) temp directory, not yet a repository. */
function freshDirectory(): string {
  const directory = path.join(root, `case-${++caseNumber}`)
  fs.mkdirSync(directory, { mode: 0o700 })
  return directory
}

const refused = (message: RegExp) =>
  expect.objectContaining({
    name: 'JsonFileRepositoryError',
    code: 'ERR_UNSAFE_DIRECTORY',
    message: expect.stringMatching(message),
  })

function opening(directory: string, options = {}): () => JsonFileRepository {
  return () => new JsonFileRepository(directory, options)
}

/** What `new JsonFileRepository(directory)` throws, or `undefined`. */
function errorOpening(directory: string, options = {}): unknown {
  try {
    opening(directory, options)()
    return undefined
  } catch (error) {
    return error
  }
}

describe('a directory another user can write is refused at start-up', () => {
  asRoot(
    'a directory owned by another user is refused, and accepted with allowSharedDirectory',
    async () => {
      const directory = freshDirectory()
      fs.chownSync(directory, NOBODY, NOBODY)
      expect(errorOpening(directory)).toEqual(
        refused(
          /owned by uid 65534, neither this process's user \(uid 0\) nor root.*allowSharedDirectory: true/,
        ),
      )
      const shared = new JsonFileRepository(directory, { allowSharedDirectory: true })
      await shared.set('a', 1)
      await expect(shared.get('a')).resolves.toBe(1)
      await shared.close()
    },
  )

  test.each([
    ['others', 0o777, /writable by others \(mode 0777\) without the sticky bit.*chmod go-w/],
    ['its group', 0o770, /writable by its group \(mode 0770\)/],
  ])('a directory writable by %s without the sticky bit is refused', (_, mode, message) => {
    const directory = freshDirectory()
    fs.chmodSync(directory, mode)
    expect(errorOpening(directory)).toEqual(refused(message))
    expect(listNames(directory)).toEqual([])
  })

  test('a directory writable by others with the sticky bit (as /tmp) is accepted, if others cannot list it', async () => {
    const directory = freshDirectory()
    fs.chmodSync(directory, 0o1733)
    const repository = new JsonFileRepository(directory)
    await repository.set('a', 1)
    await repository.close()
  })

  test('a parent writable by others is refused, and named, even when the directory is new', () => {
    const parent = freshDirectory()
    fs.chmodSync(parent, 0o777)
    const directory = path.join(parent, 'sessions')
    expect(errorOpening(directory)).toEqual(
      refused(new RegExp(`^Refusing the directory ${parent} \\(a parent of ${directory}\\)`)),
    )
  })

  asRoot('a symlink is followed: its target is checked, and used as `directory`', async () => {
    const parent = freshDirectory()
    const theirs = path.join(parent, 'theirs')
    const mine = path.join(parent, 'mine')
    fs.mkdirSync(theirs, { mode: 0o700 })
    fs.mkdirSync(mine, { mode: 0o700 })
    fs.chownSync(theirs, NOBODY, NOBODY)
    fs.symlinkSync(theirs, path.join(parent, 'to-theirs'))
    fs.symlinkSync(mine, path.join(parent, 'to-mine'))
    expect(errorOpening(path.join(parent, 'to-theirs'))).toEqual(refused(/owned by uid 65534/))
    const repository = new JsonFileRepository(path.join(parent, 'to-mine'))
    expect(repository.directory).toBe(mine)
    await repository.set('a', 1)
    expect(listNames(mine)).toEqual(['a.json'])
    await repository.close()
  })

  asRoot(
    'run as another user (nobody), a 0777 directory of root is refused and a directory of its own works',
    async () => {
      const parent = freshDirectory()
      // nobody must reach it: mkdtemp made the root 0700.
      fs.chmodSync(root, 0o755)
      fs.chmodSync(parent, 0o755)
      // And the package, which the checkout may keep where nobody cannot go.
      const dist = readableCopy(path.join(parent, 'package'))
      const shared = path.join(parent, 'shared')
      const own = path.join(parent, 'own')
      fs.mkdirSync(shared, { mode: 0o777 })
      fs.chmodSync(shared, 0o777)
      fs.mkdirSync(own, { mode: 0o700 })
      fs.chownSync(own, NOBODY, NOBODY)
      const script = `
        const { JsonFileRepository } = require(${JSON.stringify(dist)})
        const result = {}
        try { new JsonFileRepository(${JSON.stringify(shared)}) } catch (error) { result.shared = error.code }
        const repository = new JsonFileRepository(${JSON.stringify(own)})
        repository.set('a', { a: 1 }).then(() => repository.get('a')).then((value) => {
          result.own = value
          console.log(JSON.stringify(result))
        })`
      const output = execFileSync(process.execPath, ['-e', script], {
        uid: NOBODY,
        gid: NOBODY,
        encoding: 'utf8',
        timeout: 60_000,
      })
      expect(JSON.parse(output)).toEqual({ shared: 'ERR_UNSAFE_DIRECTORY', own: { a: 1 } })
      expect(fs.statSync(path.join(own, 'a.json')).uid).toBe(NOBODY)
    },
    120_000,
  )
})

describe('a directory others can list is refused unencrypted (its names are the keys)', () => {
  test.each([
    ['others', 0o755],
    ['its group', 0o750],
    ['others', 0o1777],
  ])('a directory readable by %s (mode %o) is refused, with the chmod to run', (who, mode) => {
    const directory = freshDirectory()
    fs.chmodSync(directory, mode)
    expect(errorOpening(directory)).toEqual(
      refused(
        new RegExp(
          `^Refusing the directory ${directory}: it is readable by ${who} \\(mode 0?${mode.toString(8)}\\), who can list .*run chmod 700 ${directory}.*encryption.*allowSharedDirectory: true`,
        ),
      ),
    )
    expect(listNames(directory)).toEqual([])
  })

  test('one that can be entered but not listed (0711) is accepted', async () => {
    const directory = freshDirectory()
    fs.chmodSync(directory, 0o711)
    const repository = new JsonFileRepository(directory)
    await repository.set('a', 1)
    await repository.close()
  })

  test('encrypted, read-only, or shared on purpose, it is accepted; the first two warn', async () => {
    const directory = freshDirectory()
    fs.chmodSync(directory, 0o755)
    const encrypted = memoryLogger()
    const readOnly = memoryLogger()
    const shared = memoryLogger()
    const encryption = { keys: ['k'.repeat(32)] }
    const repositories = [
      new JsonFileRepository(directory, { encryption, logger: encrypted }),
      new JsonFileRepository(directory, { readOnly: true, logger: readOnly }),
      new JsonFileRepository(directory, { allowSharedDirectory: true, logger: shared }),
    ]
    for (const logger of [encrypted, readOnly]) {
      expect(logger.records).toEqual([
        expect.objectContaining({
          level: 'warn',
          message: expect.stringMatching(
            /^The directory is readable by others \(mode 0755\).*chmod 700/,
          ),
        }),
      ])
    }
    expect(shared.records).toEqual([])
    await repositories[0]?.set('a', 1)
    await repositories[2]?.set('b', 2)
    for (const repository of repositories) await repository.close()
  })
})

describe('a directory made again while the store runs is checked again before a write', () => {
  test('made again readable by others, unencrypted, it is refused without a path in the message', async () => {
    const directory = freshDirectory()
    const repository = new JsonFileRepository(directory)
    await repository.set('a', 1)
    removeDirectory(directory)
    fs.mkdirSync(directory, { mode: 0o755 })
    fs.chmodSync(directory, 0o755)
    const error = await repository.set('b', 2).catch((e: unknown) => e)
    expect(error).toEqual(
      refused(
        /^Refusing to write into the directory, made again or replaced since it was checked: it is readable by others \(mode 0755\).*chmod 700 <directory>/,
      ),
    )
    expect((error as Error).message).not.toContain(root)
    expect(listNames(directory)).toEqual([])
    // Fixed, it is written into again.
    fs.chmodSync(directory, 0o700)
    await expect(repository.set('b', 2)).resolves.toBe(true)
    expect(listNames(directory)).toEqual(['b.json'])
    await repository.close()
  })

  test('removed, it is made again by the store with its mode, and written into', async () => {
    const directory = freshDirectory()
    const repository = new JsonFileRepository(directory)
    removeDirectory(directory)
    await expect(repository.set('a', 1)).resolves.toBe(true)
    expect(listNames(directory)).toEqual(['a.json'])
    await repository.close()
  })

  asRoot('made again 0777 by another user (nobody), it is never written into', async () => {
    const parent = freshDirectory()
    // A sticky parent that others can write, as /tmp: there anyone can make the directory.
    fs.chmodSync(root, 0o755)
    fs.chmodSync(parent, 0o1777)
    const directory = path.join(parent, 'sessions')
    const repository = new JsonFileRepository(directory, { logger: memoryLogger() })
    await repository.set('a', 1)
    removeDirectory(directory)
    execFileSync('mkdir', ['-m', '0777', directory], { uid: NOBODY, gid: NOBODY })
    expect(fs.statSync(directory).uid).toBe(NOBODY)
    await expect(repository.set('b', 2)).rejects.toEqual(refused(/owned by uid 65534/))
    await expect(repository.set('a', 3)).rejects.toEqual(refused(/owned by uid 65534/))
    expect(listNames(directory)).toEqual([])
    await repository.close()
  })

  test('replaced by a symlink, it is refused', async () => {
    const directory = freshDirectory()
    const elsewhere = freshDirectory()
    const repository = new JsonFileRepository(directory)
    removeDirectory(directory)
    fs.symlinkSync(elsewhere, directory)
    await expect(repository.set('a', 1)).rejects.toEqual(refused(/it is not a directory/))
    expect(listNames(elsewhere)).toEqual([])
    await repository.close()
  })
})

describe('files of another user are never served', () => {
  asRoot('a planted file owned by another uid is a miss, moved aside and reported', async () => {
    const directory = freshDirectory()
    const logger = memoryLogger()
    const repository = new JsonFileRepository(directory, { logger })
    await repository.set('victim', { user: 'victim' })
    fs.writeFileSync(repository.path('victim'), '{"user":"admin"}')
    fs.chownSync(repository.path('victim'), NOBODY, NOBODY)
    await expect(repository.get('victim')).resolves.toBeUndefined()
    expect(repository.stats().quarantined).toBe(1)
    expect(logger.records).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: expect.stringMatching(
          /^The file of key "victim" is owned by another user \(uid 65534\)/,
        ),
      }),
    ])
    expect(listNames(directory)).toEqual([expect.stringMatching(/^victim\.json\.corrupt-\d+$/)])
    await repository.close()
  })

  asRoot('with allowSharedDirectory, files of other users are served', async () => {
    const directory = freshDirectory()
    const repository = new JsonFileRepository(directory, { allowSharedDirectory: true })
    fs.writeFileSync(repository.path('peer'), '{"from":"a peer"}')
    fs.chownSync(repository.path('peer'), NOBODY, NOBODY)
    await expect(repository.get('peer')).resolves.toEqual({ from: 'a peer' })
    await repository.close()
  })
})

describe('a file larger than maxFileSize is never read', () => {
  test.each([
    ['just over the default 16 MiB', 16 * 1024 * 1024 + 1],
    ['600 MiB, over the longest string V8 can make', 600 * 1024 * 1024],
  ])(
    'a sparse file %s at a key path is a miss, moved aside, without growing memory',
    async (_, size) => {
      const directory = freshDirectory()
      const logger = memoryLogger()
      const repository = new JsonFileRepository(directory, { logger })
      fs.writeFileSync(repository.path('huge'), '')
      fs.truncateSync(repository.path('huge'), size)
      const before = process.memoryUsage().rss
      await expect(repository.get('huge')).resolves.toBeUndefined()
      expect(process.memoryUsage().rss - before).toBeLessThan(16 * 1024 * 1024)
      expect(logger.records).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/is larger than maxFileSize/) }),
      ])
      expect(repository.stats().quarantined).toBe(1)
      await repository.set('huge', 'small again')
      await expect(repository.get('huge')).resolves.toBe('small again')
      await repository.close()
    },
  )

  test('a file of exactly maxFileSize bytes is read; set of a larger value is ERR_INVALID_VALUE and writes nothing', async () => {
    const directory = freshDirectory()
    const repository = new JsonFileRepository<string>(directory, { maxFileSize: 100 })
    const fits = 'x'.repeat(98) // 100 bytes with its quotes
    await repository.set('fits', fits)
    await expect(new JsonFileRepository(directory, { maxFileSize: 100 }).get('fits')).resolves.toBe(
      fits,
    )
    // 34 characters of 3 UTF-8 bytes each: 104 bytes, though only 36 characters.
    await expect(repository.set('big', '日'.repeat(34))).rejects.toEqual(
      expect.objectContaining({
        code: 'ERR_INVALID_VALUE',
        message: expect.stringMatching(/larger than maxFileSize \(100 bytes\)/),
      }),
    )
    expect(listNames(directory)).toEqual(['fits.json'])
    await repository.close()
  })

  test('the command line survives a 600 MiB file: `rm --where` and `get` go on or fail cleanly', async () => {
    builtPackage()
    const directory = freshDirectory()
    const repository = new JsonFileRepository(directory)
    await repository.set('a', { user: 'ada' })
    fs.writeFileSync(repository.path('huge'), '')
    fs.truncateSync(repository.path('huge'), 600 * 1024 * 1024)
    const cli = path.join(builtPackage(), 'cli.js')
    const run = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [cli, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr })
        })
      })
    await expect(run('rm', directory, '--where', 'user=ada')).resolves.toMatchObject({
      code: 0,
      stdout: 'removed 1 entry\n',
    })
    fs.renameSync(path.join(directory, listNames(directory)[0] as string), repository.path('huge'))
    const got = await run('get', directory, 'huge')
    expect(got).toMatchObject({ code: 1, stdout: '' })
    expect(got.stderr).toMatch(/larger than maxFileSize/)
    await repository.close()
  }, 120_000)
})

describe('a path where no directory can be made', () => {
  test.each(['/proc/x', '/proc/x/y/z'])(
    '%s fails at once with ERR_IO instead of hanging',
    async (directory) => {
      const script = `
        const { JsonFileRepository } = require(${JSON.stringify(builtPackage())})
        try { new JsonFileRepository(${JSON.stringify(directory)}) } catch (error) {
          console.log(JSON.stringify({ code: error.code, message: error.message }))
        }`
      const started = Date.now()
      const output = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['-e', script], { timeout: 30_000 }, (error, stdout) => {
          if (error) reject(error)
          else resolve(stdout)
        })
      })
      expect(JSON.parse(output)).toEqual({
        code: 'ERR_IO',
        message: expect.stringMatching(/^Cannot create the directory \/proc\/x.*: ENOENT/),
      })
      expect(Date.now() - started).toBeLessThan(30_000)
    },
    60_000,
  )

  test('a regular file on the way is ERR_IO (ENOTDIR), and nothing is made', () => {
    const parent = freshDirectory()
    fs.writeFileSync(path.join(parent, 'file'), '')
    const file = path.join(parent, 'file')
    expect(errorOpening(file)).toEqual(
      expect.objectContaining({
        code: 'ERR_IO',
        message: `${file} is a file, not a directory`,
        cause: expect.objectContaining({ code: 'ENOTDIR' }),
      }),
    )
    expect(errorOpening(path.join(file, 'sub'))).toEqual(
      expect.objectContaining({ code: 'ERR_IO', message: expect.stringMatching(/ENOTDIR/) }),
    )
    expect(listNames(parent)).toEqual(['file'])
  })
})

test('messages of I/O errors name the key but no path', async () => {
  const directory = freshDirectory()
  const repository = new JsonFileRepository(directory)
  // Root writes anywhere: make the directory a file instead.
  removeDirectory(directory)
  fs.writeFileSync(directory, '')
  const failure = (await repository
    .set('a', 1)
    .catch((error: unknown) => error)) as JsonFileRepositoryError
  expect(failure).toBeInstanceOf(JsonFileRepositoryError)
  expect(failure.message).toMatch(/^Cannot write key "a": ENOTDIR: not a directory$/)
  expect(failure.message).not.toContain(root)
  expect(failure.file).toBe(path.join(directory, 'a.json'))
  expect(failure.key).toBe('a')
  fs.unlinkSync(directory)
  await repository.close()
})

test('the cache of text outside Latin-1 keeps the heap under maxBytes', () => {
  const maxBytes = 16 * 1024 * 1024
  const script = `
    const { JsonFileRepository } = require(${JSON.stringify(builtPackage())})
    const directory = ${JSON.stringify(freshDirectory())}
    const repository = new JsonFileRepository(directory, { fsync: false, cache: { maxBytes: ${maxBytes} } })
    const heap = () => { global.gc(); return process.memoryUsage().heapUsed }
    ;(async () => {
      const before = heap()
      // 4,000 sessions of 5,000 characters of Cyrillic: 40 MB on the heap were they all kept.
      for (let i = 0; i < 4000; i++) {
        await repository.set('session' + i, { name: 'Жанна'.repeat(1000), i })
      }
      console.log(JSON.stringify({ grown: heap() - before, stats: repository.stats() }))
    })()`
  const output = execFileSync(process.execPath, ['--expose-gc', '-e', script], {
    encoding: 'utf8',
    timeout: 120_000,
  })
  const { grown, stats } = JSON.parse(output)
  expect(stats.cacheBytes).toBeLessThanOrEqual(maxBytes)
  expect(stats.cacheEntries).toBeLessThan(4000)
  // Counted by characters, as before, the heap reached twice maxBytes.
  expect(grown).toBeLessThan(maxBytes * 1.15)
  expect(grown).toBeGreaterThan(maxBytes * 0.7)
}, 180_000)

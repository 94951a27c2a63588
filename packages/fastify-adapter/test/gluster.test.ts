/**
 * Several servers, one shared directory, on a real GlusterFS volume: one brick on this machine,
 * mounted three times (three FUSE clients, each with caches of its own, as three hosts have)
 * with the options of the core README's GlusterFS recipe. Each server is a real process on a
 * mount of its own; each scenario counts what went wrong (lost or stale views, undone logouts,
 * errors) and expects none. Skipped, with the reason printed, only where FUSE, mounting or
 * GlusterFS is unavailable (`.ci/run` installs glusterfs-server and glusterfs-client).
 */
import { execFile } from 'node:child_process'
import { createHmac } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { expiryToMtime, waitFor } from '@json-file-repository/test-helpers'
import { FileStore } from 'fastify-file-session-store'
import { JsonFileRepository } from 'json-file-repository'
import { type GlusterVolume, makeVolume, Unavailable, unavailable } from './gluster'
import { HttpBrowser, startServer } from './http'

const SECRET = 'a secret with at least thirty-two characters'
/** The core README's section the start-up notice names, with a recipe per network filesystem. */
const RECIPE_URL =
  'https://github.com/json-file-repository/json-file-repository/tree/main/packages/core#several-hosts-on-one-shared-filesystem'
const EXPRESS_SERVER = path.join(__dirname, '../../express-adapter/test/fixtures/server.js')
/** Rounds of the logout race per variant: about 0.15 s each on this volume. */
const ROUNDS = 50
/** The core's command line, the `json-file-repository` bin of the adapter's dependency. */
const CLI = path.join(
  path.dirname(require.resolve('json-file-repository/package.json')),
  'dist/cli.js',
)

let volume: GlusterVolume | undefined
let skipped: string | undefined

beforeAll(async () => {
  skipped = await unavailable()
  if (skipped === undefined) {
    try {
      volume = await makeVolume(3)
    } catch (error) {
      // Only glusterd or FUSE refusing here is a reason to skip; any other step must work.
      if (!(error instanceof Unavailable)) throw error
      skipped = error.message
    }
  }
  if (skipped) console.log(`Skipped the GlusterFS tests: ${skipped}`)
}, 300_000)

afterAll(async () => {
  await volume?.cleanUp()
}, 300_000)

let directories = 0
/**
 * A new session directory on the volume (mode 0700, as a store makes it), as each mount sees it.
 */
function sessionDirectory(): string[] {
  const mounts = (volume as GlusterVolume).mounts
  const name = `sessions-${++directories}`
  fs.mkdirSync(path.join(mounts[0] as string, name), { mode: 0o700 })
  return mounts.map((mount) => path.join(mount, name))
}

type Server = Awaited<ReturnType<typeof startServer>>
/** Runs `body` with a server on each of `directories`, stopping them all afterwards. */
async function withServers<T>(
  directories: string[],
  options: object,
  body: (urls: string[]) => Promise<T>,
  script?: string,
): Promise<T> {
  const servers: Server[] = []
  try {
    for (const directory of directories) servers.push(await startServer(directory, options, script))
    return await body(servers.map((server) => server.url))
  } finally {
    await Promise.all(servers.map((server) => server.stop()))
  }
}

/** The id in a session cookie (`sessionId=<id>.<signature>`). */
function idOf(cookie: string | undefined): string {
  return decodeURIComponent((cookie ?? '').replace(/^sessionId=/, '')).split('.')[0] as string
}

/** A browser that carries the cookie of `browser`. */
function copyOf(browser: HttpBrowser): HttpBrowser {
  const copy = new HttpBrowser()
  copy.cookie = browser.cookie
  return copy
}

/**
 * `users` users, each logging in on one server and then counting views on the servers in turn:
 * returns how many responses were wrong (a login unseen, a view lost or stale).
 */
async function alternate(urls: string[], users: number, views: number): Promise<string[]> {
  const wrong: string[] = []
  await Promise.all(
    Array.from({ length: users }, async (_, user) => {
      const browser = new HttpBrowser()
      const at = (i: number) => urls[(user + i) % urls.length] as string
      await browser.json(at(0), `/login?userId=u${user}`)
      const me = await browser.json(at(1), '/me')
      if (me.status !== 200 || (me.body.user as { id?: string })?.id !== `u${user}`) {
        wrong.push(`user ${user}: login unseen (${me.status})`)
      }
      for (let view = 1; view <= views; view++) {
        const { body } = await browser.json(at(view + 1), '/')
        if (body.views !== view) wrong.push(`user ${user}: view ${view} answered ${body.views}`)
      }
    }),
  )
  return wrong
}

describe('GlusterFS, one server per mount', () => {
  test('a login is seen by the other server; views++ on alternating servers: none lost or stale', async () => {
    if (!volume) return
    const [a, b] = sessionDirectory()
    const wrong = await withServers([a, b] as string[], {}, (urls) => alternate(urls, 20, 6))
    expect(wrong).toEqual([])
  }, 120_000)

  test('a logout on one server is honoured by the next request on the other', async () => {
    if (!volume) return
    const [a, b] = sessionDirectory()
    const undone = await withServers([a, b] as string[], {}, async (urls) => {
      const undone: number[] = []
      await Promise.all(
        Array.from({ length: 20 }, async (_, user) => {
          const [here, there] = user % 2 ? urls : [...urls].reverse()
          const browser = new HttpBrowser()
          await browser.json(here as string, `/login?userId=u${user}`)
          // The cookie of the session logged out: the logout's answer may set a new one.
          const loggedIn = copyOf(browser)
          expect((await browser.json(there as string, '/me')).status).toBe(200)
          await browser.json(there as string, '/logout')
          if ((await loggedIn.json(here as string, '/me')).status !== 401) undone.push(user)
        }),
      )
      return undone
    })
    expect(undone).toEqual([])
  }, 120_000)

  // The race of logout.test.ts, across mounts: the session is destroyed on one server while a
  // request with its cookie is held in flight on each of three, then released.
  test.each([
    { name: 'touchAfter 0', options: { touchAfter: 0 } },
    { name: 'default touchAfter', options: {} },
  ])(
    'a logout while requests are in flight on all three mounts holds ($name)',
    async ({ options }) => {
      if (!volume) return
      const directories = sessionDirectory()
      const { undone, failed } = await withServers(directories, options, async (urls) => {
        const held = async (url: string) =>
          (await new HttpBrowser().json(url, '/held')).body.waiting as number
        const undone: number[] = []
        const failed: number[] = []
        for (let round = 0; round < ROUNDS; round++) {
          const [home, ...others] = [...urls.slice(round % 3), ...urls.slice(0, round % 3)]
          const browser = new HttpBrowser()
          await browser.json(home as string, `/login?userId=${round}`)
          const id = idOf(browser.cookie)
          const loggedIn = copyOf(browser)
          const inFlight = urls.map((url, i) =>
            copyOf(browser).json(url, (round + i) % 2 === 0 ? '/hold?change=1' : '/hold'),
          )
          for (const url of urls) {
            const deadline = Date.now() + 30_000
            while ((await held(url)) !== 1) expect(Date.now()).toBeLessThan(deadline)
          }
          await browser.json(home as string, '/logout')
          await Promise.all(urls.map((url) => new HttpBrowser().json(url, '/release')))
          for (const response of await Promise.all(inFlight)) {
            if (response.status !== 200) failed.push(round)
          }
          const me = await loggedIn.json(others[round % 2] as string, '/me')
          const file = path.join(directories[0] as string, `${id}.json`)
          if (me.status !== 401 || fs.existsSync(file)) undone.push(round)
        }
        return { undone, failed }
      })
      console.log(
        `GlusterFS logout race (${JSON.stringify(options)}): ${undone.length} of ${ROUNDS} logouts undone, ` +
          `${failed.length} in-flight requests answered 500`,
      )
      expect({ undone, failed }).toEqual({ undone: [], failed: [] })
    },
    300_000,
  )

  test('expiry and prune through one mount while the other serves', async () => {
    if (!volume) return
    const [a, b] = sessionDirectory() as [string, string]
    await withServers([b], {}, async ([url]) => {
      const browsers = Array.from({ length: 20 }, () => new HttpBrowser())
      for (const browser of browsers) await browser.json(url as string, '/login')
      // Their files (a refused cookie gets a new session, and a new cookie).
      const files = browsers.map((browser) => `${idOf(browser.cookie)}.json`)
      // The odd ones expired an hour ago, as the mount of the other host sets it: no clock raced.
      const past = expiryToMtime(Date.now() - 3_600_000)
      for (const [i, file] of files.entries()) {
        if (i % 2) fs.utimesSync(path.join(a, file), past, past)
      }
      // The server serves the live ones, and refuses the expired ones, while prune runs on `a`.
      const serving = Promise.all(
        browsers.map(async (browser, i) => {
          const answers: number[] = []
          for (let n = 0; n < 3; n++)
            answers.push((await copyOf(browser).json(url as string, '/me')).status)
          return answers.every((status) => status === (i % 2 ? 401 : 200))
        }),
      )
      const pruned = await promisify(execFile)(process.execPath, [CLI, 'prune', a])
      expect(await serving).toEqual(browsers.map(() => true))
      expect(pruned.stdout).toMatch(/^pruned (\d+) expired entr/)
      // The expired files are gone, the live ones kept (next to the new sessions of the 401s).
      const left = fs.readdirSync(a)
      expect(files.filter((file) => left.includes(file))).toEqual(
        files.filter((_, i) => i % 2 === 0),
      )
    })
  }, 120_000)

  test('with encryption: logins and views across mounts, and no plain text on the volume', async () => {
    if (!volume) return
    const [a, b] = sessionDirectory() as [string, string]
    const options = { encryption: { keys: ['a key of thirty-two characters!!'] } }
    const wrong = await withServers([a, b], options, (urls) => alternate(urls, 10, 4))
    expect(wrong).toEqual([])
    const files = fs.readdirSync(b)
    expect(files.length).toBe(10)
    for (const name of files) {
      expect(fs.readFileSync(path.join(b, name), 'utf8')).not.toContain('user')
    }
  }, 120_000)

  test('the Express adapter: logins, views and logouts across mounts', async () => {
    if (!volume) return
    const [a, b] = sessionDirectory() as [string, string]
    const wrong = await withServers(
      [a, b],
      {},
      async (urls) => {
        const wrong = await alternate(urls, 10, 4)
        const browser = new HttpBrowser()
        await browser.json(urls[0] as string, '/login?userId=x')
        await browser.json(urls[1] as string, '/logout')
        const me = await copyOf(browser).json(urls[0] as string, '/me')
        if (me.status !== 401) wrong.push(`logout undone (${me.status})`)
        return wrong
      },
      EXPRESS_SERVER,
    )
    expect(wrong).toEqual([])
  }, 120_000)

  test('the command line on one mount while servers write through the others', async () => {
    if (!volume) return
    const [a, b, c] = sessionDirectory() as [string, string, string]
    const cli = async (...args: string[]) =>
      (await promisify(execFile)(process.execPath, [CLI, ...args])).stdout
    await withServers([a, b], {}, async (urls) => {
      // Victims to remove with `rm --where`, and a session of 0.3 for `migrate` to convert.
      const victims = Array.from({ length: 5 }, () => new HttpBrowser())
      for (const victim of victims) await victim.json(urls[0] as string, '/login?userId=victim')
      const legacyId = 'Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp'
      fs.writeFileSync(
        path.join(c, legacyId),
        JSON.stringify({ cookie: { expires: null, path: '/' }, user: { id: 'legacy' } }),
      )
      // Meanwhile, users count views on the servers in turn.
      const counting = alternate(urls, 10, 8)
      const listed = (await cli('ls', c, '--json')).trim().split('\n').length
      const stats = JSON.parse(await cli('stats', c, '--json'))
      expect(await cli('rm', c, '--where', 'user.id=victim')).toBe('removed 5 entries\n')
      expect(await cli('migrate', c)).toMatch(/^migrated 1, /)
      expect(await counting).toEqual([])
      expect(listed).toBeGreaterThanOrEqual(5)
      expect(stats).toMatchObject({ legacyFiles: 1 })
      expect(stats.entries).toBeGreaterThanOrEqual(5)
      for (const victim of victims) {
        for (const url of urls) expect((await victim.json(url, '/me')).status).toBe(401)
      }
      // The converted session is served by both servers, with the cookie 0.3 had set.
      const signature = createHmac('sha256', SECRET).update(legacyId).digest('base64')
      const legacy = new HttpBrowser()
      legacy.cookie = `sessionId=${encodeURIComponent(`${legacyId}.${signature.replace(/=+$/, '')}`)}`
      for (const url of urls) {
        expect((await legacy.json(url, '/me')).body).toMatchObject({ user: { id: 'legacy' } })
      }
    })
  }, 120_000)
})

/** The code of what `action` throws, or `undefined` when it throws nothing. */
function codeOf(action: () => unknown): string | undefined {
  try {
    action()
    return undefined
  } catch (error) {
    return (error as NodeJS.ErrnoException).code
  }
}

// Each file operation the store relies on, done through one mount and seen through the other.
describe('GlusterFS, the file operations of the store across mounts', () => {
  test('an mtime after 2200 (the expiry) is stored and seen to the millisecond', async () => {
    if (!volume) return
    const [a, b] = sessionDirectory() as [string, string]
    const expiresAt = Date.now() + 3_600_000
    const mtime = expiryToMtime(expiresAt)
    fs.writeFileSync(path.join(a, 'x'), '{}')
    fs.utimesSync(path.join(a, 'x'), mtime, mtime)
    expect(new Date(fs.lstatSync(path.join(b, 'x')).mtimeMs).getUTCFullYear()).toBeGreaterThan(2200)
    // To the millisecond: `mtimeMs` is a double made from nanoseconds (…79.999 for …80).
    expect(Math.round(fs.lstatSync(path.join(b, 'x')).mtimeMs)).toBe(Math.round(mtime * 1000))
    // And through the repository: an expiry set through one mount is read through the other.
    const writer = new JsonFileRepository(a)
    const reader = new JsonFileRepository(b)
    await writer.set('k', { n: 1 }, { expiresAt })
    expect(await reader.getEntry('k')).toMatchObject({ value: { n: 1 }, expiresAt })
    await Promise.all([writer.close(), reader.close()])
  })

  test('O_NOFOLLOW refuses a symlink made through the other mount', () => {
    if (!volume) return
    const [a, b] = sessionDirectory() as [string, string]
    fs.writeFileSync(path.join(a, 'target'), 'secret')
    fs.symlinkSync('target', path.join(a, 'link.json'))
    const flags = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW
    expect(codeOf(() => fs.openSync(path.join(b, 'link.json'), flags))).toBe('ELOOP')
  })

  test('a hard link (the exclusive write) fails with EEXIST on a name made through the other mount', () => {
    if (!volume) return
    const [a, b] = sessionDirectory() as [string, string]
    fs.writeFileSync(path.join(b, 'taken.json'), '"b"')
    fs.writeFileSync(path.join(a, 'temp'), '"a"')
    expect(codeOf(() => fs.linkSync(path.join(a, 'temp'), path.join(a, 'taken.json')))).toBe(
      'EEXIST',
    )
    expect(fs.readFileSync(path.join(b, 'taken.json'), 'utf8')).toBe('"b"')
    fs.linkSync(path.join(a, 'temp'), path.join(a, 'free.json'))
    expect(fs.readFileSync(path.join(b, 'free.json'), 'utf8')).toBe('"a"')
  })

  test('a rename over a file open through the other mount: the open file keeps the old content', () => {
    if (!volume) return
    const [a, b] = sessionDirectory() as [string, string]
    fs.writeFileSync(path.join(a, 'k.json'), '"old"')
    const fd = fs.openSync(path.join(b, 'k.json'), 'r')
    try {
      fs.writeFileSync(path.join(a, 'temp'), '"new"')
      fs.renameSync(path.join(a, 'temp'), path.join(a, 'k.json'))
      expect(fs.readFileSync(fd, 'utf8')).toBe('"old"')
      expect(fs.readFileSync(path.join(b, 'k.json'), 'utf8')).toBe('"new"')
    } finally {
      fs.closeSync(fd)
    }
  })

  test('a directory can be fsynced, and its owner and mode are the same through both mounts', async () => {
    if (!volume) return
    const [a, b] = sessionDirectory() as [string, string]
    const fd = fs.openSync(a, 'r')
    try {
      expect(codeOf(() => fs.fsyncSync(fd))).toBeUndefined()
    } finally {
      fs.closeSync(fd)
    }
    const stats = fs.statSync(b)
    expect({ uid: stats.uid, mode: stats.mode & 0o7777 }).toEqual({
      uid: process.getuid?.(),
      mode: 0o700,
    })
    // The directory checks hold: a repository (fsync on) opens it, and refuses it once the other
    // mount made it writable by all.
    const repository = new JsonFileRepository(b, { fsync: true })
    await Promise.all(Array.from({ length: 8 }, (_, i) => repository.set(`k${i}`, i)))
    await repository.close()
    fs.chmodSync(a, 0o777)
    expect(() => new JsonFileRepository(b)).toThrow(
      expect.objectContaining({ code: 'ERR_UNSAFE_DIRECTORY' }),
    )
  })

  test('a stale temp file left through one mount is removed by prune through the other', async () => {
    if (!volume) return
    const [a, b] = sessionDirectory() as [string, string]
    // A temp file of a writer that is gone (no pid is that high).
    const temp = path.join(a, '.k.json.4194305.0a1b2c3d1.tmp')
    fs.writeFileSync(temp, '{')
    const repository = new JsonFileRepository(b)
    // Its age is its ctime's, which only the clock moves: wait (with a deadline) until prune
    // finds it older than the second a young temp file is spared.
    const deadline = Date.now() + 30_000
    while (fs.existsSync(temp) && Date.now() < deadline) await repository.prune()
    await repository.close()
    expect(fs.existsSync(temp)).toBe(false)
  })
})

/** In how many of 20 cached reads of `k` the event loop turned before the read resolved. */
async function turnsDuringCachedReads(repository: JsonFileRepository): Promise<number> {
  let turns = 0
  for (let i = 0; i < 20; i++) {
    let turned = false
    setImmediate(() => {
      turned = true
    })
    expect(await repository.get('k')).toBe(1)
    if (turned) turns++
  }
  return turns
}

describe('GlusterFS, the start-up notice', () => {
  test('on a local filesystem, no notice and cached reads check their file synchronously', async () => {
    if (!volume) return
    const local = fs.mkdtempSync(
      path.join(path.dirname(path.dirname(sessionDirectory()[0] as string)), 'local-'),
    )
    const records: object[] = []
    const logger = {
      warn: () => {},
      error: () => {},
      info: (object: object) => records.push(object),
    }
    const repository = new JsonFileRepository(local, { logger })
    // One on the volume, opened after it with the same logger: by its notice, the local
    // directory's filesystem is known (a local statfs, against one through FUSE then a read).
    const onVolume = new JsonFileRepository(sessionDirectory()[0] as string, { logger })
    expect(await waitFor(() => records.length > 0, 30_000)).toBe(true)
    await onVolume.close()
    await repository.set('k', 1)
    expect(await turnsDuringCachedReads(repository)).toBe(0)
    await repository.close()
    expect(records).toEqual([{ filesystem: 'fuse.glusterfs' }])
  })

  test('a repository on the volume tells its logger once, at info, which filesystem and where the recipe is', async () => {
    if (!volume) return
    const [a] = sessionDirectory() as [string]
    const records: { object: object; message?: string }[] = []
    const logger = {
      warn: () => {},
      error: () => {},
      info: (object: object, message?: string) => records.push({ object, message }),
    }
    const repository = new JsonFileRepository(a, { logger })
    // Start-up does not wait for it: nothing yet, then the notice.
    expect(records).toEqual([])
    expect(await waitFor(() => records.length > 0, 30_000)).toBe(true)
    await repository.set('k', 1)
    await repository.get('k')
    // From then on a cached read checks its file in the thread pool: the event loop runs on
    // while the lstat goes to the server. (A synchronous lstat would answer before any turn.)
    expect(await turnsDuringCachedReads(repository)).toBeGreaterThan(0)
    await repository.close()
    expect(records).toEqual([
      {
        object: { filesystem: 'fuse.glusterfs' },
        message: expect.stringContaining(`(fuse.glusterfs)`),
      },
    ])
    expect(records[0]?.message).toContain(RECIPE_URL)
    expect(records[0]?.message).not.toContain(a)
    // FileStore passes it on through the logger that names sessions by fingerprint.
    const store = new FileStore({ directory: a, logger })
    expect(await waitFor(() => records.length > 1, 30_000)).toBe(true)
    await store.close()
    expect(records).toEqual([records[0], records[0]])
  })
})

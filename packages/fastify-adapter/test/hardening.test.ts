/**
 * Attacks on a real app (issue 11): hostile files at a session's path, a directory another user
 * can write, and a full disk, whose errors and logs must name no session id and no path.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { FileStore, fingerprint } from 'fastify-file-session-store'
import { Browser, buildApp, temporaryDirectory } from './app'

const NOBODY = 65534
const isRoot = process.geteuid?.() === 0
if (!isRoot) console.log("Skipped the tests of other users' files: not root")

let directory: string
let store: FileStore | undefined
let app: FastifyInstance | undefined
/** Every line the app logged (pino's JSON), and what the store reported. */
const logs: string[] = []

beforeEach(() => {
  directory = temporaryDirectory('hardening')
  logs.length = 0
})
afterEach(async () => {
  await app?.close()
  await store?.close()
  app = undefined
  store = undefined
  fs.rmSync(directory, { recursive: true, force: true })
})

/** A real app whose logs, and the store's reports through `app.log`, are kept in `logs`. */
async function start(sessions: string, options: { maxFileSize?: number } = {}) {
  const logger = {
    warn: (object: object, message?: string) => app?.log.warn(object, message),
    error: (object: object, message?: string) => app?.log.error(object, message),
  }
  store = new FileStore({ directory: sessions, logger, fsync: false, ...options })
  app = await buildApp(store, {}, { logger: { stream: { write: (line) => logs.push(line) } } })
  return { app, store, browser: new Browser(app) }
}

function cookieId(browser: Browser): string {
  return decodeURIComponent(browser.cookie as string).split('.')[0] as string
}

/** Replaces a session's file by hand, keeping its expiry (its modification time). */
function rewrite(file: string, change: (text: string) => string) {
  const { mtime } = fs.statSync(file)
  fs.writeFileSync(file, change(fs.readFileSync(file, 'utf8')))
  fs.utimesSync(file, mtime, mtime)
}

describe('hostile files at a session path', () => {
  test.each([
    ['2 MiB, over the 1 MiB default', 2 * 1024 * 1024],
    ['600 MiB, over the longest string V8 can make', 600 * 1024 * 1024],
  ])('a sparse file of %s is a clean miss and the app goes on answering', async (_, size) => {
    const { browser, store } = await start(path.join(directory, 'sessions'))
    await browser.get('/login?userId=ada')
    const file = store.sessionFile(cookieId(browser))
    fs.truncateSync(file, size)
    await expect(browser.json('/me')).resolves.toEqual({
      status: 401,
      body: { error: 'Not authenticated' },
    })
    await expect(browser.json('/')).resolves.toEqual({ status: 200, body: { views: 1 } })
    expect(logs.join('\n')).toMatch(/is larger than maxFileSize/)
  })

  test.each([
    [
      'one level down',
      (text: string) => text.replace('"user":{', '"user":{"__proto__":{"isAdmin":true},'),
    ],
    [
      'two levels down, with constructor.prototype',
      (text: string) =>
        text.replace(
          '"user":{',
          '"user":{"roles":[],"x":{"constructor":{"prototype":{"isAdmin":true}}},',
        ),
    ],
  ])('a nested __proto__ planted %s gives no app code isAdmin', async (_, plant) => {
    const { browser, store } = await start(path.join(directory, 'sessions'))
    await browser.get('/login?userId=ada')
    const file = store.sessionFile(cookieId(browser))
    rewrite(file, plant)
    expect(fs.readFileSync(file, 'utf8')).toContain('isAdmin')
    await expect(browser.json('/is-admin')).resolves.toEqual({
      status: 200,
      body: { isAdmin: false },
    })
    const me = await browser.get('/me')
    expect(me.statusCode).toBe(200)
    expect(me.body).not.toContain('isAdmin')
  })

  ;(isRoot ? test : test.skip)(
    "a session file owned by another user is never served: the victim's session is not replaced",
    async () => {
      const { browser, store } = await start(path.join(directory, 'sessions'))
      await browser.get('/login?userId=victim')
      const file = store.sessionFile(cookieId(browser))
      rewrite(file, (text) => text.replace('"victim"', '"admin"'))
      fs.chownSync(file, NOBODY, NOBODY)
      await expect(browser.json('/me')).resolves.toMatchObject({ status: 401 })
      expect(logs.join('\n')).toMatch(/owned by another user \(uid 65534\)/)
    },
  )
})

describe('a directory another user can write', () => {
  test('a session directory writable by others is refused at start-up, saying how to fix it', () => {
    const sessions = path.join(directory, 'sessions')
    fs.mkdirSync(sessions, { mode: 0o777 })
    fs.chmodSync(sessions, 0o777)
    expect(() => new FileStore(sessions)).toThrow(
      expect.objectContaining({
        code: 'ERR_UNSAFE_DIRECTORY',
        message: expect.stringMatching(/writable by others.*chmod go-w.*allowSharedDirectory/),
      }),
    )
  })

  ;(isRoot ? test : test.skip)(
    "a session directory of another user's is refused; a symlink to it too",
    () => {
      const theirs = path.join(directory, 'theirs')
      fs.mkdirSync(theirs, { mode: 0o700 })
      fs.chownSync(theirs, NOBODY, NOBODY)
      fs.symlinkSync(theirs, path.join(directory, 'link'))
      for (const sessions of [theirs, path.join(directory, 'link')]) {
        expect(() => new FileStore(sessions)).toThrow(
          expect.objectContaining({ code: 'ERR_UNSAFE_DIRECTORY' }),
        )
      }
    },
  )
})

describe('no session id and no path in errors and logs', () => {
  let mounted: string | undefined
  afterEach(() => {
    if (mounted) execFileSync('umount', [mounted])
    mounted = undefined
  })

  test('on a full disk the 500 and the logs name the session by fingerprint only', async () => {
    const disk = path.join(directory, 'disk')
    fs.mkdirSync(disk)
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk], { stdio: 'pipe' })
    } catch (error) {
      console.log(`Skipped "full disk with a real app": mount failed: ${(error as Error).message}`)
      return
    }
    mounted = disk
    const sessions = path.join(disk, 'sessions')
    const { browser } = await start(sessions)
    await browser.get('/login?userId=ada')
    const id = cookieId(browser)
    // Fill the disk to the last byte.
    const fd = fs.openSync(path.join(disk, 'filler'), 'w')
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(4096, 1))
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC')
    } finally {
      fs.closeSync(fd)
    }

    const response = await browser.get('/login?userId=bob')
    expect(response.statusCode).toBe(500)
    expect(response.json()).toMatchObject({
      code: 'ERR_IO',
      message: `Cannot write key ${fingerprint(id)}: ENOSPC: no space left on device`,
    })
    const everything = [response.body, ...logs].join('\n')
    expect(logs.join('\n')).toContain(fingerprint(id))
    expect(everything).not.toContain(id)
    expect(everything).not.toContain(disk)
  })
})

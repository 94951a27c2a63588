/**
 * The move to Redis, for real: an app on FileStore logs users in; it stops; its sessions go
 * through `fastify-file-session-store export-redis | redis-cli --pipe` into a redis-server of
 * the test's own; the same app on connect-redis 9 serves the same cookies with the same data
 * and expiries. Skipped, with the reason printed, where redis-server or redis-cli cannot run.
 */
import { execFile, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { SessionStore } from '@fastify/session'
import {
  expiryToMtime,
  mtimeToExpiry,
  type RedisServer,
  startRedis,
} from '@json-file-repository/test-helpers'
import { RedisStore } from 'connect-redis'
import type { FastifyInstance } from 'fastify'
import { FileStore } from 'fastify-file-session-store'
import { createClient } from 'redis'
import { Browser, buildApp, temporaryDirectory } from './app'

const cli = path.join(__dirname, '../dist/cli.js')
const HOUR = 3_600_000

let redis: RedisServer | undefined
let skipped: string | undefined
let directory: string

beforeAll(async () => {
  if (spawnSync('redis-cli', ['--version']).status !== 0) skipped = 'redis-cli is not installed'
  else redis = await startRedis()
  if (!redis) skipped ??= 'redis-server is not installed or did not start'
  if (skipped)
    console.log(`Skipped the move to Redis: ${skipped} (apt-get install redis-server redis-tools)`)
}, 60_000)

afterAll(async () => {
  await redis?.stop()
})

beforeEach(() => {
  directory = temporaryDirectory('redis-move')
})

afterEach(() => {
  fs.rmSync(directory, { recursive: true, force: true })
})

/** `export-redis <directory> | redis-cli --pipe`, as an operator types it. */
function exportToRedis(port: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `set -o pipefail; "$0" "$1" export-redis "$2" | redis-cli -p "$3" --pipe`
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', script, process.execPath, cli, directory, String(port)],
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    )
  })
}

const options = { cookie: { secure: false, maxAge: HOUR }, saveUninitialized: false }
/** The session id in a signed cookie value (`<id>.<signature>`). */
const sessionId = (cookie: string | undefined) =>
  decodeURIComponent(cookie ?? '').replace(/\.[^.]*$/, '')

test('sessions exported to Redis are served by connect-redis with the same data and expiries', async () => {
  if (!redis) return console.log(`Skipped: ${skipped}`)
  const client = createClient({ url: `redis://127.0.0.1:${redis.port}` })
  await client.connect()
  let app: FastifyInstance | undefined
  try {
    // Before: users log in on the file store.
    const files = new FileStore({ directory, pruneInterval: 0, fsync: false })
    app = await buildApp(files, options)
    const browsers: Browser[] = []
    const seen: unknown[] = []
    for (const user of ['ada', 'bob', 'eve']) {
      const browser = new Browser(app)
      await browser.get(`/login?userId=${user}`)
      await browser.get(`/roles?role=${user}-admin`)
      await browser.get('/')
      browsers.push(browser)
      seen.push((await browser.json('/me')).body)
    }
    // One whose session expired on disk: it must not reach Redis.
    const expired = browsers[2] as Browser
    const past = expiryToMtime(Date.now() - 60_000)
    fs.utimesSync(files.sessionFile(sessionId(expired.cookie)), past, past)
    const expiries = browsers.map(
      (browser) => fs.statSync(files.sessionFile(sessionId(browser.cookie))).mtimeMs,
    )
    await app.close()
    await files.close()
    app = undefined

    // The move.
    const moved = await exportToRedis(redis.port)
    expect(moved).toMatchObject({ code: 0 })
    expect(moved.stdout).toMatch(/errors: 0, replies: 2/)

    // After: the same app on connect-redis, the same cookies.
    app = await buildApp(new RedisStore({ client }) as unknown as SessionStore, options)
    for (const [i, browser] of browsers.slice(0, 2).entries()) {
      const id = sessionId(browser.cookie)
      const stored = JSON.parse((await client.get(`sess:${id}`)) ?? 'null')
      const expiresAt = new Date(stored.cookie.expires).getTime()
      // The expiry kept in the file (its mtime, shifted): the same in Redis, to the ms.
      expect(mtimeToExpiry(expiries[i] as number)).toBe(expiresAt)
      expect(await client.pExpireTime(`sess:${id}`)).toBe(expiresAt)
      const again = new Browser(app)
      again.cookie = browser.cookie
      expect(await again.json('/me')).toEqual({ status: 200, body: seen[i] })
    }
    expect(await client.exists(`sess:${sessionId(expired.cookie)}`)).toBe(0)
    const stranger = new Browser(app)
    stranger.cookie = expired.cookie
    expect((await stranger.json('/me')).status).toBe(401)

    // Running it again keeps what the app has changed in Redis since (SET NX).
    const ada = new Browser(app)
    ada.cookie = browsers[0]?.cookie
    await ada.get('/roles?role=editor')
    expect((await exportToRedis(redis.port)).stdout).toMatch(/errors: 0, replies: 2/)
    expect((await ada.json('/me')).body.user).toEqual({ id: 'ada', roles: ['ada-admin', 'editor'] })
  } finally {
    await app?.close()
    await client.quit()
  }
}, 120_000)

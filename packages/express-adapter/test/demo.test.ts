import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Browser, makeTempDirectory, removeDirectory, stopper } from './app'

// Servers in child processes: sized for a loaded machine.
jest.setTimeout(120_000)

// The Express demo (examples/express-demo, built by `pnpm build`).
const demo = path.join(__dirname, '../../../examples/express-demo/dist/server.js')

/** The demo in a process of its own, on `sessions`; resolves to its URL and how to stop it. */
async function startDemo(sessions: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [demo], {
    env: { ...process.env, PORT: '0', SESSION_DIR: sessions },
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const stop = stopper(child)
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the demo exited with ${code}`)))
    child.stdout.on('data', (data: Buffer) => {
      const found = /Demo listening on (\S+)/.exec(data.toString())?.[1]
      if (found) resolve(found)
    })
  }).catch(async (error) => {
    await stop()
    throw error
  })
  return { url, stop }
}

let directory: string
beforeEach(() => {
  directory = makeTempDirectory('express-demo')
})
afterEach(() => removeDirectory(directory))

test('the Express demo counts views with one cookie and stores the session in a file', async () => {
  const sessions = path.join(directory, 'sessions')
  const { url, stop } = await startDemo(sessions)
  try {
    const browser = new Browser(url)
    expect((await browser.get('/')).body).toEqual({ views: 1 })
    expect((await browser.get('/')).body).toEqual({ views: 2 })
    const files = fs.readdirSync(sessions)
    expect(files).toHaveLength(1)
    expect(
      JSON.parse(fs.readFileSync(path.join(sessions, files[0] as string), 'utf8')),
    ).toMatchObject({ views: 2 })
    await browser.get('/login?userId=ada')
    expect((await browser.get('/me')).body).toEqual({ user: { id: 'ada' } })
    await browser.get('/logout')
    expect((await browser.get('/me')).status).toBe(401)
    expect(fs.readdirSync(sessions)).toHaveLength(0)
  } finally {
    await stop()
  }
})

test('two processes sharing the directory serve the same sessions, and a logout in one ends it in both', async () => {
  const sessions = path.join(directory, 'sessions')
  const one = await startDemo(sessions)
  try {
    const two = await startDemo(sessions)
    try {
      const first = new Browser(one.url)
      const second = new Browser(two.url)
      await first.get('/login?userId=lin')
      second.cookie = first.cookie
      expect((await second.get('/me')).body).toEqual({ user: { id: 'lin' } })
      expect((await second.get('/')).body).toEqual({ views: 1 })
      expect((await first.get('/')).body).toEqual({ views: 2 })
      await second.get('/logout')
      expect((await first.get('/me')).status).toBe(401)
      expect(fs.readdirSync(sessions)).toHaveLength(0)
    } finally {
      await two.stop()
    }
  } finally {
    await one.stop()
  }
})

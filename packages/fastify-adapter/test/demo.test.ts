import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { temporaryDirectory } from './app'
import { HttpBrowser, stopper } from './http'

// Servers in child processes: sized for a loaded machine.
jest.setTimeout(120_000)

// The demo the README's first command starts (examples/demo, built by `pnpm build`).
const demo = path.join(__dirname, '../../../examples/demo')

test('the demo counts views with one cookie and stores the session in a file', async () => {
  const sessions = path.join(temporaryDirectory('demo'), 'sessions')
  const child = spawn(process.execPath, [path.join(demo, 'dist/server.js')], {
    env: { ...process.env, PORT: '0', SESSION_DIR: sessions },
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const stop = stopper(child)
  try {
    const base = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the demo exited with ${code}`)))
      child.stdout.on('data', (data: Buffer) => {
        const url = /Demo listening on (\S+)/.exec(data.toString())?.[1]
        if (url) resolve(url)
      })
    })
    const browser = new HttpBrowser()
    expect((await browser.json(base, '/')).body).toEqual({ views: 1 })
    expect((await browser.json(base, '/')).body).toEqual({ views: 2 })
    const files = fs.readdirSync(sessions)
    expect(files).toHaveLength(1)
    expect(
      JSON.parse(fs.readFileSync(path.join(sessions, files[0] as string), 'utf8')),
    ).toMatchObject({ views: 2 })
    await browser.json(base, '/login?userId=ada')
    expect((await browser.json(base, '/me')).body).toEqual({ user: { id: 'ada' } })
    await browser.json(base, '/logout')
    expect((await browser.json(base, '/me')).status).toBe(401)
    expect(fs.readdirSync(sessions)).toHaveLength(0)
  } finally {
    await stop()
    fs.rmSync(path.dirname(sessions), { recursive: true, force: true })
  }
})

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import ts from 'typescript'
import { temporaryDirectory } from './app'
import { HttpBrowser, stopper } from './http'

// Servers in child processes: sized for a loaded machine.
jest.setTimeout(120_000)

/**
 * The two examples of @itrocks/fastify-file-session-store's README, kept verbatim in
 * fixtures/, run on this package. What has to change, and nothing else:
 * - the import (the point of a drop-in);
 * - `app.register(fastifyCookie)`: @fastify/session 11 refuses to start without @fastify/cookie,
 *   whatever the store, so the old examples never ran as written;
 * - the port, so that tests do not need port 3000.
 * The complete example also needs SESSION_SECRET: its fallback is shorter than the 32
 * characters @fastify/session requires.
 */
function adapt(source: string, port: number): string {
  return compile(
    source
      .replace(
        "import { FileStore } from '@itrocks/fastify-file-session-store'",
        "import { FileStore } from 'fastify-file-session-store'\nimport fastifyCookie from '@fastify/cookie'",
      )
      .replace(
        'app.register(fastifySession',
        'app.register(fastifyCookie)\napp.register(fastifySession',
      ),
    port,
  )
}

/** Points the package's import at its build and the port at `port`; compiles to CommonJS. */
function compile(source: string, port: number): string {
  const changed = source
    .replace(
      "from 'fastify-file-session-store'",
      `from ${JSON.stringify(path.join(__dirname, '../dist'))}`,
    )
    .replace('port: 3000', `port: ${port}, host: '127.0.0.1'`)
  expect(changed).not.toBe(source)
  return ts.transpileModule(changed, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, esModuleInterop: true },
  }).outputText
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/**
 * Runs an example app in its own process and `check`s it once it listens. The port was free a
 * moment before the example binds it; should another process take it meanwhile (the machine is
 * shared), the example is started again on another port.
 */
async function run(
  toScript: (port: number) => string,
  check: (base: string, directory: string) => Promise<void>,
) {
  const root = temporaryDirectory('example')
  const script = path.join(root, 'app/server.js')
  fs.mkdirSync(path.dirname(script))
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      fs.writeFileSync(script, toScript(port))
      const child = spawn(process.execPath, [script], {
        cwd: root,
        env: {
          ...process.env,
          NODE_PATH: path.join(__dirname, '../node_modules'),
          SESSION_SECRET: 'a secret with at least thirty-two characters',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const stop = stopper(child)
      try {
        let stderr = ''
        child.stderr.on('data', (data: Buffer) => (stderr += data.toString()))
        const listening = await new Promise<boolean>((resolve, reject) => {
          child.once('close', (code) => {
            if (attempt < 5 && stderr.includes('EADDRINUSE')) resolve(false)
            else reject(new Error(`the example exited with ${code}:\n${stderr}`))
          })
          child.stdout.on('data', (data: Buffer) => {
            if (/listening/i.test(data.toString())) resolve(true)
          })
        })
        if (!listening) continue
        await check(`http://127.0.0.1:${port}`, root)
        return
      } finally {
        await stop()
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}

const oldExample = (name: string) => (port: number) =>
  adapt(fs.readFileSync(path.join(__dirname, 'fixtures', name), 'utf8'), port)

test('the minimal example counts views in a session stored in ./sessions', async () => {
  await run(oldExample('old-readme-minimal.ts.txt'), async (base, root) => {
    const browser = new HttpBrowser()
    expect((await browser.json(base, '/')).body).toEqual({ views: 1 })
    expect((await browser.json(base, '/')).body).toEqual({ views: 2 })
    expect(fs.readdirSync(path.join(root, 'sessions'))).toHaveLength(1)
  })
})

test('the complete example logs in, answers /me and logs out', async () => {
  await run(oldExample('old-readme-complete.ts.txt'), async (base, root) => {
    const browser = new HttpBrowser()
    expect((await browser.json(base, '/me')).status).toBe(401)
    expect((await browser.json(base, '/login?userId=42')).body).toEqual({
      ok: true,
      user: { id: '42' },
    })
    expect((await browser.json(base, '/me')).body).toEqual({ user: { id: '42' } })
    expect(fs.readdirSync(path.join(root, 'data/sessions')).length).toBeGreaterThan(0)
    expect((await browser.json(base, '/logout')).body).toEqual({ ok: true })
    expect((await browser.json(base, '/me')).status).toBe(401)
  })
})

import { type ChildProcess, spawn } from 'node:child_process'

/** A real HTTP client that keeps the session cookie, like a browser. */
export class HttpBrowser {
  cookie: string | undefined

  async json(
    base: string,
    url: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(base + url, {
      headers: this.cookie === undefined ? {} : { cookie: this.cookie },
    })
    for (const header of response.headers.getSetCookie()) {
      const pair = header.split(';', 1)[0] as string
      if (pair.startsWith('sessionId=')) this.cookie = pair
    }
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
}

/**
 * Kills `child` and resolves once it has exited and its pipes are closed: a process or pipe left
 * behind would keep the jest worker alive after its last test.
 */
export function stopper(child: ChildProcess): () => Promise<void> {
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  return () => {
    child.kill()
    return closed
  }
}

/**
 * Starts `server`, an app's script run as `node <server> <directory> <options as JSON>` that
 * prints `listening <port>` once ready (each adapter's `test/fixtures/server.js`), in its own
 * process; resolves to its base URL.
 */
export function startServer(
  server: string,
  directory: string,
  options: object = {},
): Promise<{ url: string; process: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [server, directory, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const stop = stopper(child)
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
    child.stdout?.on('data', (data: Buffer) => {
      const port = /listening (\d+)/.exec(data.toString())?.[1]
      if (port) resolve({ url: `http://127.0.0.1:${port}`, process: child, stop })
    })
  })
}

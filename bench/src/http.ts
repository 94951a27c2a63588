/**
 * HTTP end to end: for each store, the app of http-server.ts in its own process, 1,000 logged-in
 * sessions, and autocannon (64 connections) on two routes measured separately. Each connection
 * cycles through its own share of the sessions, so no two requests of one session are ever in
 * flight together and the views counted in the store must equal the requests served.
 */
import { type ChildProcess, fork } from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import autocannon from 'autocannon'
import type { ServerCommand, ServerMessage } from './http-server'
import { sumViews } from './store-cases'
import { STORE_INFO, type StoreKind, type StoreSpec } from './stores'

export interface RouteResult {
  reqPerSec: number
  seconds: number
  /** req/s of each round. */
  rounds: number[]
  /** Latency in milliseconds. */
  p50: number
  p99: number
  requests: number
  non2xx: number
  errors: number
  /** Server CPU per request in microseconds (with redis-server's for connect-redis). */
  cpuPerRequest: number
}

export interface HttpResult {
  read: RouteResult
  views: RouteResult
  /** Responses to /views the server sent after saving the session. */
  viewsServed: number
  /** The sum of `views` read back by the server's own store after the load. */
  viewsInServer: number
  /** The same, read by a fresh process (persistent stores). */
  viewsFresh?: number
  missing: number
}

export interface HttpOptions {
  sessions: number
  connections: number
  /** Seconds of load per route and store, split over the rounds. */
  seconds: number
  rounds: number
  warmupSeconds: number
}

const SERVER = path.join(__dirname, 'http-server.js')

interface Running {
  spec: StoreSpec
  server: Server
  port: number
  /**
   * Two sets of sessions: an app's consecutive measurements alternate between them, so that a
   * request still in flight on the server when autocannon stops never races the next
   * measurement's request on the same session (a lost update the views count would show).
   */
  halves: [string[], string[]]
  measured: number
  ids: string[]
  runs: { read: RouteResult[]; views: RouteResult[] }
}

/**
 * Every store's app runs at once, idle but for the one under load; each route is measured in
 * rounds that go through all the stores, so a change in the machine's background load falls on
 * every store alike instead of on whichever ran at that moment.
 */
export async function httpCases(
  specs: StoreSpec[],
  options: HttpOptions,
  log: (text: string) => void,
): Promise<{ results: Partial<Record<StoreKind, HttpResult>>; failures: string[] }> {
  const running: Running[] = []
  const failures: string[] = []
  const results: Partial<Record<StoreKind, HttpResult>> = {}
  try {
    for (const spec of specs) {
      const server = new Server(spec)
      try {
        const port = await server.ready
        const { cookies, ids } = await login(port, 2 * options.sessions)
        const halves: [string[], string[]] = [
          cookies.slice(0, options.sessions),
          cookies.slice(options.sessions),
        ]
        await load(port, '/read', halves[1], options.connections, options.warmupSeconds)
        running.push({
          spec,
          server,
          port,
          halves,
          measured: 0,
          ids,
          runs: { read: [], views: [] },
        })
      } catch (error) {
        server.kill()
        failures.push(`${STORE_INFO[spec.kind].label}: ${(error as Error).message}`)
      }
    }
    log(`  ${running.length} apps up, ${2 * options.sessions} users logged in to each`)
    const slice = options.seconds / options.rounds
    for (const route of ['read', 'views'] as const) {
      for (let round = 1; round <= options.rounds; round++) {
        // Every other round in reverse order, so that no store always follows the same one.
        for (const app of round % 2 === 1 ? running : [...running].reverse()) {
          const run = await app.server.measure(() =>
            load(
              app.port,
              `/${route}`,
              app.halves[app.measured++ % 2] as string[],
              options.connections,
              slice,
            ),
          )
          app.runs[route].push(run)
        }
        log(
          `  /${route} round ${round}: ${running.map((a) => `${STORE_INFO[a.spec.kind].label} ${Math.round(a.runs[route].at(-1)?.reqPerSec ?? 0)}`).join(', ')}`,
        )
      }
    }
    for (const app of running) {
      const closed = await app.server.close(app.ids)
      const result: HttpResult = {
        read: combine(app.runs.read),
        views: combine(app.runs.views),
        viewsServed: closed.viewsServed,
        viewsInServer: closed.sum,
        missing: closed.missing,
      }
      if (STORE_INFO[app.spec.kind].persistent)
        result.viewsFresh = (await sumViews(app.spec, app.ids)).sum
      results[app.spec.kind] = result
    }
  } finally {
    for (const app of running) app.server.kill()
  }
  return { results, failures }
}

/** Rounds added up: rate over the whole time, mean latency percentiles, summed counts. */
function combine(runs: RouteResult[]): RouteResult {
  const sum = (f: (r: RouteResult) => number) => runs.reduce((total, r) => total + f(r), 0)
  const requests = sum((r) => r.requests)
  const seconds = sum((r) => r.seconds)
  return {
    reqPerSec: requests / seconds,
    p50: sum((r) => r.p50) / runs.length,
    p99: sum((r) => r.p99) / runs.length,
    requests,
    seconds,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    cpuPerRequest: requests === 0 ? 0 : sum((r) => r.cpuPerRequest * r.requests) / requests,
    rounds: runs.map((r) => r.reqPerSec),
  }
}

/** The app's process and its IPC protocol. */
export class Server {
  readonly ready: Promise<number>
  readonly #child: ChildProcess
  #waiting: ((message: ServerMessage) => void) | undefined

  /** @param execArgv Node options of the app's process (`--cpu-prof` for profile.ts). */
  constructor(spec: StoreSpec, execArgv: string[] = []) {
    this.#child = fork(SERVER, [JSON.stringify(spec)], { stdio: 'inherit', execArgv })
    this.#child.on('message', (message: ServerMessage) => {
      const waiting = this.#waiting
      this.#waiting = undefined
      waiting?.(message)
    })
    this.ready = this.#next().then((message) => {
      if (message.type !== 'ready')
        throw new Error(`The server did not start: ${describe(message)}`)
      return message.port
    })
  }

  async measure(run: () => Promise<autocannon.Result>): Promise<RouteResult> {
    const cpu0 = await this.#cpu()
    const result = await run()
    const cpu = (await this.#cpu()) - cpu0
    const requests = result.requests.total
    return {
      reqPerSec: requests / result.duration,
      seconds: result.duration,
      rounds: [requests / result.duration],
      p50: result.latency.p50,
      p99: result.latency.p99,
      requests,
      non2xx: result.non2xx,
      errors: result.errors,
      cpuPerRequest: requests === 0 ? 0 : cpu / requests,
    }
  }

  async close(ids: string[]) {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve))
    const message = await this.#send({ type: 'close', ids })
    if (message.type !== 'closed') throw new Error(`The server failed: ${describe(message)}`)
    // Let it exit on its own: its store is closed, and a --cpu-prof profile gets written.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())])
    return message
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill()
  }

  async #cpu(): Promise<number> {
    const message = await this.#send({ type: 'cpu' })
    if (message.type !== 'cpu') throw new Error(`The server failed: ${describe(message)}`)
    return message.micros
  }

  #send(command: ServerCommand): Promise<ServerMessage> {
    const reply = this.#next()
    this.#child.send(command)
    return reply
  }

  #next(): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`The server exited with ${code}`))
      this.#child.once('exit', onExit)
      this.#waiting = (message) => {
        this.#child.off('exit', onExit)
        resolve(message)
      }
    })
  }
}

function describe(message: ServerMessage): string {
  return message.type === 'failed' ? message.error : message.type
}

/** Logs in `count` users; resolves to the cookie header of each and its session id. */
export async function login(
  port: number,
  count: number,
): Promise<{ cookies: string[]; ids: string[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  const cookies: string[] = new Array(count)
  const ids: string[] = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      const { setCookie, body } = await get(agent, port, `/login?user=${i}`)
      const cookie = setCookie?.[0]?.split(';')[0]
      if (!cookie) throw new Error('The login answered no session cookie')
      cookies[i] = cookie
      ids[i] = (JSON.parse(body) as { sid: string }).sid
    }
  }
  try {
    await Promise.all(Array.from({ length: 16 }, worker))
  } finally {
    agent.destroy()
  }
  return { cookies, ids }
}

function get(agent: http.Agent, port: number, pathname: string) {
  return new Promise<{ setCookie: string[] | undefined; body: string }>((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: pathname, agent }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => {
        if (response.statusCode !== 200)
          reject(new Error(`GET ${pathname}: ${response.statusCode} ${body}`))
        else resolve({ setCookie: response.headers['set-cookie'], body })
      })
    })
    request.on('error', reject)
  })
}

/** autocannon on one route; connection c uses sessions c, c + connections, c + 2 × connections… */
export function load(
  port: number,
  route: string,
  cookies: string[],
  connections: number,
  seconds: number,
) {
  let clients = 0
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', path: route }],
    setupClient: (client) => {
      const own = cookies.filter((_, j) => j % connections === clients % connections)
      clients++
      let k = 0
      client.setRequests([
        {
          method: 'GET',
          path: route,
          setupRequest: (request) => {
            request.headers = { ...request.headers, cookie: own[k++ % own.length] as string }
            return request
          },
        },
      ])
    },
  })
}

/**
 * The per-request budget of `pnpm bench` (section `profile`): where a read-mostly request's server CPU goes, per request, for
 * FileStore and @fastify/session's MemoryStore. Each app runs in its own process under
 * `node --cpu-prof`, is loaded on /read by autocannon in this one, and its profile is cut to
 * the load's window (the profile's clock and `process.hrtime` are both the monotonic clock) and
 * split by what each sample was doing. The stores alternate, in reverse order every other
 * round, and every ratio is taken round by round, as in the rest of the bench.
 */
import fs from 'node:fs'
import path from 'node:path'
import { load, login, Server } from './http'
import { roundOrder } from './rounds'
import { STORE_INFO, type StoreKind } from './stores'

/** What a sample of the server's main thread was doing, in the order the table shows them. */
export const PARTS = [
  'lstat (the freshness check)',
  'the store (FileStore, or MemoryStore)',
  '@fastify/session and @fastify/cookie',
  'crypto (cookie HMACs)',
  'Fastify and its dependencies',
  "Node's HTTP server and sockets",
  'GC',
  'everything else (promises, timers, native)',
] as const
export type Part = (typeof PARTS)[number]

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

/** The part a frame belongs to, or undefined when its caller decides. */
function partOf(frame: ProfileNode['callFrame']): Part | undefined {
  const { functionName: name, url } = frame
  if (name === '(garbage collector)') return 'GC'
  if (name === 'lstat' || name === 'lstatSync') return 'lstat (the freshness check)'
  if (url.includes('internal/crypto')) return 'crypto (cookie HMACs)'
  if (
    url.includes('/packages/core/') ||
    url.includes('/packages/fastify-adapter/') ||
    url.includes('/@fastify/session/lib/store') ||
    url.includes('/bench/dist/stores')
  )
    return 'the store (FileStore, or MemoryStore)'
  if (url.includes('/@fastify/session/') || url.includes('/@fastify/cookie/'))
    return '@fastify/session and @fastify/cookie'
  if (url.includes('/node_modules/') || url.includes('/bench/dist/http-server'))
    return 'Fastify and its dependencies'
  if (
    url.startsWith('node:_http') ||
    url.startsWith('node:http') ||
    url.startsWith('node:net') ||
    url.includes('stream_base_commons') ||
    url.startsWith('node:internal/streams') ||
    url.startsWith('node:stream')
  )
    return "Node's HTTP server and sockets"
  return undefined
}

/**
 * Microseconds of the main thread per part between `from` and `to` (monotonic µs): each sample
 * goes to the part of its nearest frame that has one (a native call to its JavaScript caller's).
 */
export function splitProfile(profile: CpuProfile, from: number, to: number) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id)
  const parts = new Map<number, Part | 'idle'>()
  const partOfNode = (id: number): Part | 'idle' => {
    const known = parts.get(id)
    if (known) return known
    const node = byId.get(id) as ProfileNode
    let part: Part | 'idle' | undefined =
      node.callFrame.functionName === '(idle)' ? 'idle' : partOf(node.callFrame)
    if (!part) {
      const up = parent.get(id)
      part = up === undefined ? 'everything else (promises, timers, native)' : partOfNode(up)
      // A frame of Node's own or a native one is counted with what called it, unless nothing
      // did: the root's children (microtasks, timers) are "everything else".
      if (part === 'idle') part = 'everything else (promises, timers, native)'
    }
    parts.set(id, part)
    return part
  }
  const micros = Object.fromEntries(PARTS.map((p) => [p, 0])) as Record<Part, number>
  let time = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i] ?? 0
    // A sample stands for the time until the next one.
    const span = profile.timeDeltas[i + 1] ?? 0
    if (time < from || time > to) continue
    const part = partOfNode(profile.samples[i] as number)
    if (part !== 'idle') micros[part] += span
  }
  return micros
}

const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n)

export interface ProfileOptions {
  kinds: StoreKind[]
  rounds: number
  /** Seconds of load per round and store (after a second of warm-up). */
  seconds: number
  sessions: number
  connections: number
  /** The profiler's sampling interval, µs. */
  interval: number
}

/** What {@link profileRead} measured: per store, per round, µs per request by part, and req/s. */
export interface ReadProfile {
  options: ProfileOptions
  perRequest: Partial<Record<StoreKind, Record<Part, number>[]>>
  rates: Partial<Record<StoreKind, number[]>>
}

/** Profiles each store's app under read-mostly load, in alternating rounds (see the top). */
export async function profileRead(
  options: ProfileOptions,
  root: string,
  log: (text: string) => void,
): Promise<ReadProfile> {
  const result: ReadProfile = { options, perRequest: {}, rates: {} }
  for (let round = 0; round < options.rounds; round++) {
    for (const kind of roundOrder(options.kinds, round)) {
      const profiles = path.join(root, `profile-${round}-${kind}`)
      const server = new Server(
        { kind, directory: path.join(root, `profile-${round}-${kind}-data`) },
        ['--cpu-prof', `--cpu-prof-dir=${profiles}`, `--cpu-prof-interval=${options.interval}`],
      )
      try {
        const port = await server.ready
        const { cookies, ids } = await login(port, options.sessions)
        await load(port, '/read', cookies, options.connections, 1)
        const from = monotonicMicros()
        const run = await load(port, '/read', cookies, options.connections, options.seconds)
        const to = monotonicMicros()
        // The app writes its profile when it exits, which it does once closed.
        await server.close(ids)
        const file = fs.readdirSync(profiles).find((name) => name.endsWith('.cpuprofile'))
        if (!file) throw new Error(`${STORE_INFO[kind].label}: no profile was written`)
        const profile = JSON.parse(fs.readFileSync(path.join(profiles, file), 'utf8'))
        const micros = splitProfile(profile as CpuProfile, from, to)
        const requests = run.requests.total
        const split = Object.fromEntries(PARTS.map((p) => [p, micros[p] / requests])) as Record<
          Part,
          number
        >
        result.perRequest[kind] = [...(result.perRequest[kind] ?? []), split]
        result.rates[kind] = [...(result.rates[kind] ?? []), requests / run.duration]
        const total = PARTS.reduce((sum, p) => sum + split[p], 0)
        log(
          `  round ${round + 1}: ${STORE_INFO[kind].label} ${Math.round(requests / run.duration)} req/s, ${total.toFixed(1)} µs of main thread per request`,
        )
      } finally {
        server.kill()
        fs.rmSync(profiles, { recursive: true, force: true })
      }
    }
  }
  return result
}

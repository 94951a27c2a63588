/**
 * `pnpm bench`: FileStore and json-file-repository against the raw fs floor, MemoryStore,
 * better-sqlite3, connect-redis and session-file-store, and over HTTP on Express
 * express-file-session-store against express-session's MemoryStore and session-file-store, all
 * in one run; writes
 * docs/benchmarks.md and docs/benchmarks.svg.
 *
 * Options (defaults in parseArgs below): --n sessions of the store-level cases, --concurrency
 * operations in flight and HTTP connections, --time-limit ms per write case, --sizes of the scale
 * case, --prune files of the pruning case and --prune-rounds, --sessions logged in per app, --seconds per HTTP route
 * and store, --rounds they are split in, --round-n sessions, --store-rounds, --slice-ms per
 * measurement and --cold-n, --cold-rounds of the alternating rounds of the store level,
 * --sections (cases,rounds,pairs,scale,prune,http,profile), --profile-rounds and --profile-seconds
 * of the per-request budget, --stores (kinds),
 * --out directory of the report, --json file for the raw results (default: benchmarks.json beside
 * the report), --render only write the
 * report of such a file.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { type RedisServer, startRedis } from '@json-file-repository/test-helpers'
import { sqliteLoads } from './build-sqlite'
import { runJob } from './child'
import { httpCases } from './http'
import { profileRead } from './profile'
import type { PruneJob, PruneRun } from './prune-child'
import {
  type BenchResults,
  computeTargets,
  type Machine,
  num,
  rate,
  renderMarkdown,
  renderSvg,
} from './report'
import { roundOrder } from './rounds'
import {
  CASES,
  pairCase,
  populateCase,
  type RoundsPlan,
  readCase,
  roundsCase,
  storeCases,
} from './store-cases'
import { isFreshnessKind, STORE_INFO, type StoreKind, type StoreSpec } from './stores'

const ALL_STORES: StoreKind[] = [
  'memory',
  'file-store',
  'file-store-nofsync',
  'file-store-encrypted',
  'floor-fsync',
  'floor-dirsync',
  'floor',
  'sqlite',
  'redis',
  'session-file-store',
  'file-store-revalidate',
  'file-store-trust',
  'express-file-store',
  'express-memory',
  'express-session-file-store',
]
/** The stores of the scale case, and those still run at 100,000 sessions. */
const SCALE_STORES: StoreKind[] = ['file-store', 'floor', 'sqlite', 'redis', 'memory']
const SCALE_STORES_LARGE: StoreKind[] = ['file-store', 'floor', 'sqlite', 'memory']

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '64' },
    'time-limit': { type: 'string', default: '3000' },
    sizes: { type: 'string', default: '1000,10000,100000' },
    prune: { type: 'string', default: '100000' },
    'prune-rounds': { type: 'string', default: '2' },
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '4' },
    'round-n': { type: 'string', default: '2000' },
    'store-rounds': { type: 'string', default: '8' },
    'slice-ms': { type: 'string', default: '250' },
    'cold-n': { type: 'string', default: '4000' },
    'cold-rounds': { type: 'string', default: '6' },
    sessions: { type: 'string', default: '1000' },
    sections: { type: 'string', default: 'cases,rounds,pairs,scale,prune,http,profile' },
    'profile-rounds': { type: 'string', default: '4' },
    'profile-seconds': { type: 'string', default: '4' },
    'pair-n': { type: 'string', default: '2000' },
    'pair-rounds': { type: 'string', default: '4' },
    stores: { type: 'string', default: ALL_STORES.join(',') },
    out: { type: 'string', default: path.join(__dirname, '..', '..', 'docs') },
    json: { type: 'string' },
    render: { type: 'string' },
  },
})

const start = performance.now()
const elapsed = () => `${((performance.now() - start) / 1000).toFixed(0).padStart(4)} s`
const log = (text: string) => console.log(`[${elapsed()}] ${text}`)

async function main(): Promise<void> {
  if (args.render) {
    writeReport(JSON.parse(fs.readFileSync(args.render, 'utf8')) as BenchResults)
    return
  }
  const n = Number(args.n)
  const concurrency = Number(args.concurrency)
  const sections = new Set(args.sections.split(','))
  const stores = args.stores.split(',').filter((k): k is StoreKind => k in STORE_INFO)
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fss-bench-'))
  const machine = describeMachine()
  const results: BenchResults = {
    machine,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    seconds: 0,
    n,
    concurrency,
    http: {
      sessions: Number(args.sessions),
      connections: concurrency,
      seconds: Number(args.seconds),
      rounds: Number(args.rounds),
    },
    cases: {},
    io: {},
    pairs: {},
    scale: [],
    httpResults: {},
    notes: [],
  }
  log(`${machine.cores} × ${machine.cpus}, Node ${machine.node}, ${machine.fsType} at ${root}`)
  log('The machine is shared: figures are noisy; compare the ratios of this run, not lone times.')

  let redis: RedisServer | undefined
  const cleanUp = () => {
    if (redis) process.kill(redis.pid)
    fs.rmSync(root, { recursive: true, force: true })
  }
  process.once('SIGINT', () => {
    cleanUp()
    process.exit(130)
  })
  try {
    if (stores.includes('redis')) {
      redis = await startRedis()
      if (redis) log(`redis-server on 127.0.0.1:${redis.port}`)
      else {
        log('redis-server is not on PATH (or did not start): connect-redis is left out')
        results.notes.push('redis-server was not available: connect-redis is left out of this run.')
      }
    }
    const sqlite = stores.includes('sqlite') && sqliteLoads()
    if (stores.includes('sqlite') && !sqlite) {
      log('better-sqlite3 cannot be loaded (its native build failed): it is left out')
      results.notes.push(
        'better-sqlite3 could not be loaded (its native build, run by `pnpm bench`, needs Node.js headers: installed beside node, as Debian does, or downloaded from nodejs.org): it is left out of this run.',
      )
    }
    const reachable = stores.filter(
      (kind) => (kind !== 'redis' || redis) && (kind !== 'sqlite' || sqlite),
    )
    // express-session's stores are compared over HTTP only (at the store level they would
    // repeat FileStore, MemoryStore and session-file-store).
    const available = reachable.filter((kind) => !STORE_INFO[kind].express)
    const spec = (kind: StoreKind, name: string, prefix = name): StoreSpec => ({
      kind,
      directory: path.join(root, `${name}-${kind}`),
      ...(kind === 'redis' && redis
        ? { redis: { port: redis.port, pid: redis.pid, prefix: `sess:${prefix}:` } }
        : {}),
    })

    if (sections.has('cases')) {
      log(`Store level: ${n} sessions, ${concurrency} in flight`)
      // The freshness options change reads only: they are in the rounds and the HTTP case.
      // The floor with a directory fsync per write is in the pairs and the HTTP case only.
      for (const kind of available.filter((k) => !isFreshnessKind(k) && k !== 'floor-dirsync')) {
        try {
          const { measurements, counters } = await storeCases(
            spec(kind, 'cases'),
            n,
            concurrency,
            Number(args['time-limit']),
          )
          results.cases[kind] = measurements
          if (Object.keys(counters).length > 0) results.io[kind] = counters
          const summary = CASES.map(
            (c) => `${c} ${measurements[c] ? rate(measurements[c].opsPerSec) : '—'}`,
          ).join(', ')
          log(`  ${STORE_INFO[kind].label}: ${summary}`)
        } catch (error) {
          log(`  ${STORE_INFO[kind].label} failed: ${(error as Error).message}`)
          results.notes.push(
            `${STORE_INFO[kind].label} failed in the store-level cases: ${(error as Error).message.split('\n')[0]}`,
          )
        }
      }
    }

    if (sections.has('rounds')) {
      const roundN = Number(args['round-n'])
      const rounds = Number(args['store-rounds'])
      const sliceMs = Number(args['slice-ms'])
      const plan: RoundsPlan[] = (
        [
          {
            op: 'get warm',
            kinds: [
              'file-store',
              'file-store-revalidate',
              'file-store-trust',
              'file-store-encrypted',
              'floor',
              'sqlite',
              'redis',
              'memory',
            ],
          },
          { op: 'set unchanged', kinds: ['file-store', 'memory'] },
          { op: 'update', kinds: ['file-store'] },
          { op: 'rolling', kinds: ['file-store'] },
        ] as RoundsPlan[]
      ).map(({ op, kinds }) => ({ op, kinds: kinds.filter((k) => available.includes(k)) }))
      const kinds = [...new Set(plan.flatMap((p) => p.kinds))]
      log(
        `Store level in alternating rounds: ${roundN} sessions, ${rounds} rounds of ${sliceMs} ms`,
      )
      const ops = await roundsCase(
        kinds.map((kind) => spec(kind, 'rounds')),
        plan,
        roundN,
        concurrency,
        rounds,
        sliceMs,
      )
      for (const [op, rates] of Object.entries(ops)) {
        log(
          `  ${op}: ${Object.entries(rates)
            .map(([kind, r]) => `${STORE_INFO[kind as StoreKind].label} ${r.map(rate).join(' ')}`)
            .join('; ')}`,
        )
      }
      const coldN = Number(args['cold-n'])
      const coldRounds = Number(args['cold-rounds'])
      const cold: Partial<Record<StoreKind, number[]>> = {}
      const coldKinds = (['file-store', 'floor'] as const).filter((k) => available.includes(k))
      log(`Cold gets in alternating fresh processes: ${coldN} sessions, ${coldRounds} rounds`)
      for (const kind of coldKinds) {
        // FileStore's files written without fsync to save time: the files are the same.
        const writer = kind === 'file-store' ? 'file-store-nofsync' : kind
        await populateCase({ ...spec(kind, 'cold'), kind: writer }, coldN, concurrency, 0)
      }
      for (let round = 0; round < coldRounds; round++) {
        for (const kind of roundOrder(coldKinds, round)) {
          const read = await readCase(spec(kind, 'cold'), coldN, concurrency, 1)
          cold[kind] = [...(cold[kind] ?? []), read.cold.opsPerSec]
        }
      }
      log(
        `  ${coldKinds.map((k) => `${STORE_INFO[k].label} ${cold[k]?.map(rate).join(' ')}`).join('; ')}`,
      )
      results.rounds = { n: roundN, rounds, sliceMs, ops, coldN, cold }
    }

    if (sections.has('pairs')) {
      const pairN = Number(args['pair-n'])
      const rounds = Number(args['pair-rounds'])
      log(`Writes paired with their floor: ${pairN} creates and updates, ${rounds} rounds`)
      for (const [kind, floor] of [
        ['file-store', 'floor-fsync'],
        ['file-store-nofsync', 'floor'],
        ['file-store-encrypted', 'floor-fsync'],
        // What a directory fsync per write costs without group commit, beside FileStore's.
        ['floor-dirsync', 'floor-fsync'],
      ] as const) {
        const runs =
          available.includes(kind) || (kind === 'floor-dirsync' && available.includes(floor))
        if (!runs || !available.includes(floor)) continue
        const pair = await pairCase(
          spec(kind, 'pair'),
          spec(floor, 'pair'),
          pairN,
          concurrency,
          rounds,
        )
        results.pairs[kind] = pair
        const ratios = (c: 'create' | 'update') =>
          pair[c].store.map((v, i) => num(v / (pair[c].floor[i] ?? Number.NaN))).join(' ')
        log(
          `  ${STORE_INFO[kind].label} ÷ ${STORE_INFO[floor].label}: create ${ratios('create')}, update ${ratios('update')}`,
        )
      }
    }

    if (sections.has('scale')) {
      const sizes = args.sizes.split(',').map(Number)
      log(`Scale: ${sizes.join(', ')} sessions`)
      for (const size of sizes) {
        const kinds = (size > 10_000 ? SCALE_STORES_LARGE : SCALE_STORES).filter((k) =>
          available.includes(k),
        )
        for (const kind of kinds) {
          const name = `scale${size}`
          try {
            if (kind === 'memory') {
              const populate = await populateCase(spec(kind, name), size, concurrency, 1)
              results.scale.push({ kind, n: size, populate })
              log(
                `  ${STORE_INFO[kind].label} ${size}: warm ${rate(populate.warm?.opsPerSec ?? 0)}/s, heap +${num(populate.heapGrowth / 2 ** 20)} MB`,
              )
              continue
            }
            // FileStore's files are written without fsync to save time: the files are the same.
            const writer = kind === 'file-store' ? 'file-store-nofsync' : kind
            const populate = await populateCase(
              { ...spec(kind, name), kind: writer },
              size,
              concurrency,
              0,
            )
            const read = await readCase(spec(kind, name), size, concurrency, 2)
            results.scale.push({ kind, n: size, populate, read })
            log(
              `  ${STORE_INFO[kind].label} ${size}: open ${num(read.openMs)} ms, cold ${rate(read.cold.opsPerSec)}/s, warm ${rate(read.warm?.opsPerSec ?? 0)}/s, heap +${num(read.heapGrowth / 2 ** 20)} MB (after sets +${num(populate.heapGrowth / 2 ** 20)} MB)`,
            )
          } catch (error) {
            log(`  ${STORE_INFO[kind].label} ${size} failed: ${(error as Error).message}`)
          } finally {
            await fs.promises.rm(spec(kind, name).directory, { recursive: true, force: true })
          }
        }
      }
      if (!args.sizes.includes('100000'))
        results.notes.push('The scale case ran without 100,000 sessions.')
      if (sizes.some((size) => size > 10_000) && available.includes('redis')) {
        results.notes.push(
          'connect-redis is left out of the scale case above 10,000 sessions to keep the run short.',
        )
      }
    }

    if (sections.has('prune')) {
      const count = Number(args.prune)
      const rounds = Number(args['prune-rounds'])
      log(`Pruning: ${count} files, half expired, ${rounds} rounds`)
      const pruneChild = path.join(__dirname, 'prune-child.js')
      const coreDirectory = path.join(root, 'prune-core')
      const rawDirectory = path.join(root, 'prune-raw')
      const runs: { core: PruneRun[]; raw: PruneRun[] } = { core: [], raw: [] }
      for (let round = 0; round < rounds; round++) {
        const { expiredBy } = await runJob<PruneJob, { expiredBy: number }>(pruneChild, {
          type: 'populate-core',
          directory: coreDirectory,
          n: count,
        })
        await runJob(pruneChild, { type: 'populate-raw', directory: rawDirectory, n: count })
        const wait = expiredBy + 100 - Date.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        // One right after the other, which goes first alternating.
        for (const pass of roundOrder(['core', 'raw'] as const, round)) {
          runs[pass].push(
            await runJob<PruneJob, PruneRun>(pruneChild, {
              type: pass === 'core' ? 'prune-core' : 'prune-raw',
              directory: pass === 'core' ? coreDirectory : rawDirectory,
            }),
          )
        }
        await Promise.all(
          [coreDirectory, rawDirectory].map((d) =>
            fs.promises.rm(d, { recursive: true, force: true }),
          ),
        )
      }
      const [core, raw] = [runs.core[0], runs.raw[0]]
      if (core && raw) {
        results.prune = {
          n: count,
          core,
          raw,
          rounds: { core: runs.core.map((r) => r.ms), raw: runs.raw.map((r) => r.ms) },
        }
      }
      log(
        `  prune() ${runs.core.map((r) => num(r.ms)).join(' ')} ms (${core?.removed} removed, ${core?.opened} opened); raw pass ${runs.raw.map((r) => num(r.ms)).join(' ')} ms`,
      )
    }

    if (sections.has('http')) {
      const options = {
        sessions: Number(args.sessions),
        connections: concurrency,
        seconds: Number(args.seconds),
        rounds: Number(args.rounds),
        warmupSeconds: 1,
      }
      log(
        `HTTP: ${options.sessions} sessions, ${options.connections} connections, ${options.seconds} s per route in ${options.rounds} rounds`,
      )
      const { results: http, failures } = await httpCases(
        reachable.map((kind) => spec(kind, 'http')),
        options,
        log,
      )
      results.httpResults = http
      for (const failure of failures) {
        log(`  failed: ${failure}`)
        results.notes.push(`Failed in the HTTP case: ${failure.split('\n')[0]}`)
      }
      for (const [kind, result] of Object.entries(http)) {
        log(
          `  ${STORE_INFO[kind as StoreKind].label}: read-mostly ${rate(result.read.reqPerSec)} req/s, views++ ${rate(result.views.reqPerSec)} req/s; views ${result.viewsFresh ?? result.viewsInServer} / served ${result.viewsServed}`,
        )
      }
    }

    if (sections.has('profile')) {
      const kinds = (['file-store', 'memory'] as const).filter((k) => available.includes(k))
      const options = {
        kinds: [...kinds],
        rounds: Number(args['profile-rounds']),
        seconds: Number(args['profile-seconds']),
        sessions: 500,
        connections: concurrency,
        interval: 200,
      }
      log(
        `Per-request budget: /read under --cpu-prof, ${kinds.map((k) => STORE_INFO[k].label).join(' and ')}, ${options.rounds} rounds of ${options.seconds} s`,
      )
      if (kinds.length === 2) results.profile = await profileRead(options, root, log)
    }
  } finally {
    await redis?.stop()
    redis = undefined
    cleanUp()
  }

  results.seconds = (performance.now() - start) / 1000
  fs.mkdirSync(args.out, { recursive: true })
  // The raw results beside the report: `--render` rebuilds the report from them.
  const json = args.json ?? path.join(args.out, 'benchmarks.json')
  fs.writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`)
  writeReport(results)
}

function writeReport(results: BenchResults): void {
  const targets = computeTargets(results)
  fs.mkdirSync(args.out, { recursive: true })
  fs.writeFileSync(path.join(args.out, 'benchmarks.md'), renderMarkdown(results, targets))
  fs.writeFileSync(path.join(args.out, 'benchmarks.svg'), renderSvg(results, targets))
  log('Targets:')
  for (const t of targets) log(`  ${(t.verdict ?? '—').padEnd(12)}  ${t.target}: ${t.measured}`)
  log(
    `Wrote ${path.join(args.out, 'benchmarks.md')} and benchmarks.svg in ${num(results.seconds)} s`,
  )
}

function describeMachine(): Machine {
  const cpus = os.cpus()
  let fsType = 'unknown'
  try {
    fsType = execFileSync('stat', ['-f', '-c', '%T', os.tmpdir()], { encoding: 'utf8' }).trim()
  } catch {}
  return {
    mount: mountOf(os.tmpdir()),
    cpus: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    fsType,
    tmpdir: os.tmpdir(),
  }
}

/** The filesystem type and options of the mount that holds `directory`, from /proc/mounts. */
function mountOf(directory: string): string {
  try {
    const mounts = fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .filter(
        ([, point]) =>
          point && (directory === point || directory.startsWith(point === '/' ? '/' : `${point}/`)),
      )
      .sort((a, b) => (b[1]?.length ?? 0) - (a[1]?.length ?? 0))
    const [, point, type, options] = mounts[0] ?? []
    return point ? `${type} on ${point} (${options})` : 'unknown'
  } catch {
    return 'unknown'
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})

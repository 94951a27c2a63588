/**
 * The store-level cases: N sessions, 64 operations in flight, each store in its own process.
 * `runCases` and friends run in a child (store-child.ts); `storeCases`, `scaleCase` are the
 * parent's side.
 */
import path from 'node:path'
import { runJob } from './child'
import { type Done, type Measurement, measure, memoryAfterGc } from './measure'
import { roundOrder } from './rounds'
import { type BenchSession, newSession, rolled, sessionId, updated } from './sessions'
import { type BenchStore, openStore, STORE_INFO, type StoreKind, type StoreSpec } from './stores'

export const CASES = [
  'create',
  'get warm',
  'get after restart',
  'update',
  'set unchanged',
  'rolling',
  'rolling, touch',
  'destroy',
] as const
export type CaseName = (typeof CASES)[number]

export const CASE_NOTES: Record<CaseName, string> = {
  create: 'set of a new session',
  'get warm': 'get, in the process that wrote the sessions',
  'get after restart': 'get in a fresh process on the existing data (OS page cache warm)',
  update: 'set with `views` changed and the expiry moved',
  'set unchanged': 'set of a copy of exactly what is stored',
  rolling: 'set with only `cookie.expires` (and `originalExpires`) moved by a few seconds',
  'rolling, touch': 'the same, with the expiry moved by 10 minutes (beyond `touchAfter`)',
  destroy: 'destroy',
}

export type StoreJob =
  | { type: 'cases'; spec: StoreSpec; n: number; concurrency: number; timeLimitMs: number }
  | { type: 'read'; spec: StoreSpec; n: number; concurrency: number; passes: 1 | 2 }
  | { type: 'populate'; spec: StoreSpec; n: number; concurrency: number; readPasses: 0 | 1 }
  | { type: 'sum-views'; spec: StoreSpec; ids: string[] }
  | {
      type: 'pair'
      store: StoreSpec
      floor: StoreSpec
      n: number
      concurrency: number
      rounds: number
    }
  | {
      type: 'rounds'
      specs: StoreSpec[]
      plan: RoundsPlan[]
      n: number
      concurrency: number
      rounds: number
      sliceMs: number
    }

/** An operation the rounds compare, and the stores that make it in every round. */
export interface RoundsPlan {
  op: RoundOp
  kinds: StoreKind[]
}
export type RoundOp = 'get warm' | 'set unchanged' | 'rolling' | 'update'
/** ops/s of each store in each round, by operation. */
export type RoundsResult = Partial<Record<RoundOp, Partial<Record<StoreKind, number[]>>>>

/** ops/s of a store and of its floor in each round, measured one right after the other. */
export interface PairResult {
  create: { store: number[]; floor: number[] }
  update: { store: number[]; floor: number[] }
}

export type CaseResults = Partial<Record<CaseName, Measurement>>
/** How a store's own counters (writes, touches, hits…) moved during each case. */
export type CaseCounters = Partial<Record<CaseName, Record<string, number>>>
export interface CasesResult {
  measurements: CaseResults
  counters: CaseCounters
}

export interface ReadResult {
  /** Time to construct the store on the existing data, in milliseconds. */
  openMs: number
  cold: Measurement
  warm?: Measurement
  heapGrowth: number
  /** `heapUsed` after the reads and a full GC: everything the process keeps, store included. */
  heapUsed?: number
  rss: number
  stats?: Record<string, number>
}

export interface PopulateResult {
  create: Measurement
  warm?: Measurement
  heapGrowth: number
  rss: number
  stats?: Record<string, number>
}

const STORE_CHILD = path.join(__dirname, 'store-child.js')

/** Parent side: every case for one store, in a child process. */
export function storeCases(spec: StoreSpec, n: number, concurrency: number, timeLimitMs: number) {
  return runJob<StoreJob, CasesResult>(STORE_CHILD, {
    type: 'cases',
    spec,
    n,
    concurrency,
    timeLimitMs,
  })
}

/** Parent side: gets in a fresh process on data already there. */
export function readCase(spec: StoreSpec, n: number, concurrency: number, passes: 1 | 2) {
  return runJob<StoreJob, ReadResult>(STORE_CHILD, { type: 'read', spec, n, concurrency, passes })
}

/** Parent side: creates n sessions in a fresh process (then reads them once, for MemoryStore). */
export function populateCase(spec: StoreSpec, n: number, concurrency: number, readPasses: 0 | 1) {
  return runJob<StoreJob, PopulateResult>(STORE_CHILD, {
    type: 'populate',
    spec,
    n,
    concurrency,
    readPasses,
  })
}

/** Parent side: the sum of `views` over sessions, read by a fresh process. */
export function sumViews(spec: StoreSpec, ids: string[]) {
  return runJob<StoreJob, { sum: number; missing: number }>(STORE_CHILD, {
    type: 'sum-views',
    spec,
    ids,
  })
}

/**
 * Parent side: creates then updates, a store and its floor in one process, alternating which goes
 * first, for a few rounds: the write ratios, which the machine's background load swings most.
 */
export function pairCase(
  store: StoreSpec,
  floor: StoreSpec,
  n: number,
  concurrency: number,
  rounds: number,
) {
  return runJob<StoreJob, PairResult>(STORE_CHILD, {
    type: 'pair',
    store,
    floor,
    n,
    concurrency,
    rounds,
  })
}

/**
 * Parent side: the stores of `specs` in one process, each with the same `n` sessions; then, in
 * each round, every operation of `plan` on each of its stores in turn for `sliceMs` (the order
 * reversed every other round), so that the ratios between them come from the same moments.
 */
export function roundsCase(
  specs: StoreSpec[],
  plan: RoundsPlan[],
  n: number,
  concurrency: number,
  rounds: number,
  sliceMs: number,
) {
  return runJob<StoreJob, RoundsResult>(STORE_CHILD, {
    type: 'rounds',
    specs,
    plan,
    n,
    concurrency,
    rounds,
    sliceMs,
  })
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => sessionId(i))

function setOp(store: BenchStore, keys: string[], value: (i: number) => object) {
  return (i: number, done: Done) => store.set(keys[i] as string, value(i), (error) => done(error))
}

function getOp(store: BenchStore, keys: string[]) {
  return (i: number, done: Done) =>
    store.get(keys[i] as string, (error, session) => {
      // session-file-store answers a missing file with ENOENT, as @fastify/session allows.
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') done(undefined, true)
      else done(error, !session)
    })
}

/** Child side: create, get warm, get after restart, update, unchanged, rolling, destroy. */
export async function runCases(job: Extract<StoreJob, { type: 'cases' }>): Promise<CasesResult> {
  const { spec, n, concurrency, timeLimitMs } = job
  const store = await openStore(spec)
  const keys = ids(n)
  const sessions: BenchSession[] = new Array(n)
  const options = {
    concurrency,
    timeLimitMs,
    ...(store.serverCpu ? { extraCpu: store.serverCpu } : {}),
  }
  const results: CaseResults = {}
  const counters: CaseCounters = {}
  const run = async (
    name: CaseName,
    ops: number,
    op: (i: number, done: Done) => void,
    limit = true,
  ) => {
    memoryAfterGc()
    const before = store.stats?.()
    results[name] = await measure(ops, op, limit ? options : { ...options, timeLimitMs: undefined })
    const after = store.stats?.()
    if (before && after) counters[name] = difference(after, before)
  }

  // Untimed warm-up of the write path (JIT, the new directory) on keys of its own.
  const spare = Array.from({ length: Math.min(n, 500) }, (_, i) => sessionId(i, 'warm-up'))
  await measure(
    spare.length,
    setOp(store, spare, (i) => newSession(i)),
    options,
  )
  await measure(
    spare.length,
    (i, done) => store.destroy(spare[i] as string, (e) => done(e)),
    options,
  )
  // Every later case needs all n sessions: create is never cut short.
  await run(
    'create',
    n,
    setOp(store, keys, (i) => (sessions[i] = newSession(i))),
    false,
  )
  // Warm up the read path (JIT), then measure.
  await measure(Math.min(n, 2000), getOp(store, keys), options)
  await run('get warm', n, getOp(store, keys))
  if (STORE_INFO[spec.kind].persistent) {
    results['get after restart'] = (await readCase(spec, n, concurrency, 1)).cold
  }
  const next = (change: (s: BenchSession) => BenchSession) => (i: number) => {
    const session = change(sessions[i] as BenchSession)
    sessions[i] = session
    return session
  }
  await run(
    'update',
    n,
    setOp(
      store,
      keys,
      next((s) => updated(s)),
    ),
  )
  // A restored session is a new object equal to the stored one, as @fastify/session builds it.
  await run(
    'set unchanged',
    n,
    setOp(store, keys, (i) => copy(sessions[i] as BenchSession)),
  )
  await run(
    'rolling',
    n,
    setOp(
      store,
      keys,
      next((s) => rolled(s)),
    ),
  )
  await run(
    'rolling, touch',
    n,
    setOp(
      store,
      keys,
      next((s) => rolled(s, Date.now() + 600_000)),
    ),
  )
  await run(
    'destroy',
    n,
    (i, done) => store.destroy(keys[i] as string, (error) => done(error)),
    false,
  )
  await store.close()
  return { measurements: results, counters }
}

function copy(session: BenchSession): BenchSession {
  return { ...session, cookie: { ...session.cookie } }
}

function difference(after: Record<string, number>, before: Record<string, number>) {
  const moved: Record<string, number> = {}
  for (const [key, value] of Object.entries(after)) moved[key] = value - (before[key] ?? 0)
  return moved
}

/** Child side: opens the store on existing data, then one cold and maybe one warm pass of gets. */
export async function runRead(job: Extract<StoreJob, { type: 'read' }>): Promise<ReadResult> {
  const { spec, n, concurrency, passes } = job
  memoryAfterGc()
  const t0 = performance.now()
  const store = await openStore(spec)
  const openMs = performance.now() - t0
  const before = memoryAfterGc()
  const options = { concurrency, ...(store.serverCpu ? { extraCpu: store.serverCpu } : {}) }
  const { cold, warm } = await (async () => {
    // The ids are made after `before` and unreachable by `after`: an id string the store keeps
    // (its cache's key, its memory of loaded ids) counts in the growth, as in a server where
    // each comes from a cookie; one only the bench holds does not.
    const keys = ids(n)
    const cold = await measure(n, getOp(store, keys), options)
    const warm = passes === 2 ? await measure(n, getOp(store, keys), options) : undefined
    // Emptied, not only dropped: a closure of the passes outlives them (the raw floor, which
    // keeps nothing, grew by the 100,000 ids without this).
    keys.length = 0
    return { cold, warm }
  })()
  const after = memoryAfterGc()
  const stats = store.stats?.()
  await store.close()
  return {
    openMs,
    cold,
    ...(warm ? { warm } : {}),
    heapGrowth: after.heapUsed - before.heapUsed,
    heapUsed: after.heapUsed,
    rss: after.rss,
    ...(stats ? { stats } : {}),
  }
}

/** Child side: creates n sessions, and measures the heap they leave behind. */
export async function runPopulate(
  job: Extract<StoreJob, { type: 'populate' }>,
): Promise<PopulateResult> {
  const { spec, n, concurrency, readPasses } = job
  const store = await openStore(spec)
  const before = memoryAfterGc()
  const now = Date.now()
  const options = { concurrency, ...(store.serverCpu ? { extraCpu: store.serverCpu } : {}) }
  const { create, warm } = await (async () => {
    // As in runRead: the ids the store keeps count, those only the bench holds do not.
    const keys = ids(n)
    const create = await measure(
      n,
      setOp(store, keys, (i) => newSession(i, now)),
      options,
    )
    const warm = readPasses === 1 ? await measure(n, getOp(store, keys), options) : undefined
    keys.length = 0
    return { create, warm }
  })()
  const after = memoryAfterGc()
  const stats = store.stats?.()
  await store.close()
  return {
    create,
    ...(warm ? { warm } : {}),
    heapGrowth: after.heapUsed - before.heapUsed,
    rss: after.rss,
    ...(stats ? { stats } : {}),
  }
}

/** Child side: reads every session back and adds up their `views`. */
export async function runSumViews(job: Extract<StoreJob, { type: 'sum-views' }>) {
  const store = await openStore(job.spec)
  const result = await countViews(store, job.ids)
  await store.close()
  return result
}

/** The sum of the `views` of the sessions `ids`, and how many have none. */
export async function countViews(store: BenchStore, ids: string[]) {
  let sum = 0
  let missing = 0
  for (const id of ids) {
    const session = await new Promise<object | null | undefined>((resolve, reject) =>
      store.get(id, (error, value) => (error ? reject(error) : resolve(value))),
    )
    const views = (session as { views?: unknown } | null | undefined)?.views
    if (typeof views === 'number') sum += views
    else missing++
  }
  return { sum, missing }
}

/** Child side of {@link pairCase}. */
export async function runPair(job: Extract<StoreJob, { type: 'pair' }>): Promise<PairResult> {
  const { n, concurrency, rounds } = job
  const stores = { store: await openStore(job.store), floor: await openStore(job.floor) }
  const result: PairResult = { create: { store: [], floor: [] }, update: { store: [], floor: [] } }
  const options = { concurrency }
  for (const store of Object.values(stores)) {
    const spare = Array.from({ length: 500 }, (_, i) => sessionId(i, 'warm-up'))
    await measure(
      spare.length,
      setOp(store, spare, (i) => newSession(i)),
      options,
    )
  }
  for (let round = 0; round < rounds; round++) {
    const keys = Array.from({ length: n }, (_, i) => sessionId(i, `pair-${round}`))
    const order = round % 2 === 0 ? (['store', 'floor'] as const) : (['floor', 'store'] as const)
    for (const which of order) {
      const store = stores[which]
      const sessions = keys.map((_, i) => newSession(i))
      result.create[which].push(
        (
          await measure(
            n,
            setOp(store, keys, (i) => sessions[i] as BenchSession),
            options,
          )
        ).opsPerSec,
      )
      result.update[which].push(
        (
          await measure(
            n,
            setOp(store, keys, (i) => updated(sessions[i] as BenchSession)),
            options,
          )
        ).opsPerSec,
      )
    }
  }
  await Promise.all(Object.values(stores).map((store) => store.close()))
  return result
}

/** Child side of {@link roundsCase}. */
export async function runRounds(job: Extract<StoreJob, { type: 'rounds' }>): Promise<RoundsResult> {
  const { n, concurrency, rounds, sliceMs } = job
  const keys = ids(n)
  const stores = new Map<StoreKind, { store: BenchStore; sessions: BenchSession[] }>()
  const now = Date.now()
  for (const spec of job.specs) {
    const store = await openStore(spec)
    const sessions = keys.map((_, i) => newSession(i, now))
    await measure(
      n,
      setOp(store, keys, (i) => sessions[i] as BenchSession),
      { concurrency },
    )
    // Warm-up of the read path (JIT); every later get is a cache hit where there is a cache.
    await measure(n, getOp(store, keys), { concurrency })
    stores.set(spec.kind, { store, sessions })
  }
  // Each measurement cycles over the n sessions until `sliceMs` have passed.
  const total = n * 50
  const cycle = (i: number) => i % n
  const ops: Record<RoundOp, (s: { store: BenchStore; sessions: BenchSession[] }) => Op> = {
    'get warm': ({ store }) => {
      const get = getOp(store, keys)
      return (i, done) => get(cycle(i), done)
    },
    'set unchanged': ({ store, sessions }) => {
      const set = setOp(store, keys, (i) => copy(sessions[i] as BenchSession))
      return (i, done) => set(cycle(i), done)
    },
    // A rolling save writes nothing, so `sessions` (what the store holds) keeps the session as
    // stored: had it kept the rolled one, every later 'set unchanged' would save a session whose
    // expiry differs from the stored one, a rolling save under the name of an unchanged one.
    rolling: ({ store, sessions }) => {
      const set = setOp(store, keys, (i) => rolled(sessions[i] as BenchSession))
      return (i, done) => set(cycle(i), done)
    },
    update: ({ store, sessions }) => {
      const set = setOp(store, keys, (i) => (sessions[i] = updated(sessions[i] as BenchSession)))
      return (i, done) => set(cycle(i), done)
    },
  }
  const result: RoundsResult = {}
  for (let round = 0; round < rounds; round++) {
    for (const { op, kinds } of roundOrder(job.plan, round)) {
      const rates = result[op] ?? {}
      result[op] = rates
      for (const kind of roundOrder(kinds, round)) {
        const entry = stores.get(kind)
        if (!entry) continue
        memoryAfterGc()
        const options = {
          concurrency,
          timeLimitMs: sliceMs,
          ...(entry.store.serverCpu ? { extraCpu: entry.store.serverCpu } : {}),
        }
        const before = entry.store.stats?.()
        const m = await measure(total, ops[op](entry), options)
        if (m.errors > 0 || (op === 'get warm' && m.misses > 0)) {
          throw new Error(`${STORE_INFO[kind].label} ${op}: ${m.errors} errors, ${m.misses} misses`)
        }
        // The row says what was measured: a save of exactly what is stored, answered without
        // I/O. A store that counts its work must show it, or the slice measured something else.
        const after = entry.store.stats?.()
        if (op === 'set unchanged' && before && after) {
          const moved = difference(after, before)
          if ((moved.writes ?? 0) + (moved.touches ?? 0) > 0 || moved.skipped !== m.ops) {
            throw new Error(
              `${STORE_INFO[kind].label} set unchanged: ${moved.writes} writes, ${moved.touches} touches, ${moved.skipped} skipped of ${m.ops}`,
            )
          }
        }
        rates[kind] = [...(rates[kind] ?? []), m.opsPerSec]
      }
    }
  }
  await Promise.all([...stores.values()].map(({ store }) => store.close()))
  return result
}

type Op = (index: number, done: Done) => void

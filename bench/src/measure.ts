/**
 * The load generator of the store-level cases: `total` operations, `concurrency` of them in
 * flight, each timed, with the CPU time the process (and, for Redis, its server) spent.
 */
import fs from 'node:fs'

export interface Measurement {
  /** Operations completed. */
  ops: number
  seconds: number
  opsPerSec: number
  /** Latency of one operation in milliseconds. */
  p50: number
  p99: number
  /** CPU time per operation in microseconds, user + system. */
  cpuPerOp: number
  /** Operations that answered "no such session". */
  misses: number
  errors: number
  firstError?: string
}

/** Calls back once per operation; `miss` tells that a read found nothing. */
export type Done = (error?: unknown, miss?: boolean) => void

export interface MeasureOptions {
  concurrency: number
  /** Stop starting operations after this many milliseconds (what ran is reported). */
  timeLimitMs?: number
  /** CPU time of another process that works for this one (Redis), in microseconds. */
  extraCpu?: () => number
}

/**
 * Runs `op(i)` for i = 0 .. total-1 with `concurrency` in flight. Callbacks may come
 * synchronously (MemoryStore, better-sqlite3): the loop below never recurses.
 */
export function measure(
  total: number,
  op: (index: number, done: Done) => void,
  options: MeasureOptions,
): Promise<Measurement> {
  const { concurrency, timeLimitMs = Number.POSITIVE_INFINITY, extraCpu } = options
  const latencies = new Float64Array(total)
  let started = 0
  let completed = 0
  let misses = 0
  let errors = 0
  let firstError: string | undefined
  let launching = false
  let limit = total
  const cpu0 = process.cpuUsage()
  const extra0 = extraCpu?.() ?? 0
  const t0 = performance.now()
  let finished = false
  return new Promise((resolve) => {
    const finish = () => {
      if (finished) return
      finished = true
      const seconds = (performance.now() - t0) / 1000
      const cpu = process.cpuUsage(cpu0)
      const cpuMicros = cpu.user + cpu.system + ((extraCpu?.() ?? 0) - extra0)
      const sorted = latencies.subarray(0, completed).sort()
      resolve({
        ops: completed,
        seconds,
        opsPerSec: completed / seconds,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        cpuPerOp: completed === 0 ? 0 : cpuMicros / completed,
        misses,
        errors,
        ...(firstError === undefined ? {} : { firstError }),
      })
    }
    const pump = () => {
      if (launching) return
      launching = true
      while (started < limit && started - completed < concurrency) {
        if (performance.now() - t0 > timeLimitMs) {
          limit = started
          break
        }
        const index = started++
        const begin = performance.now()
        let settled = false
        op(index, (error, miss) => {
          if (settled) return
          settled = true
          latencies[completed] = performance.now() - begin
          completed++
          if (error) {
            errors++
            firstError ??= error instanceof Error ? error.message : String(error)
          } else if (miss) misses++
          if (completed === limit) finish()
          else pump()
        })
      }
      launching = false
      if (completed === limit && started === limit) finish()
    }
    if (total === 0) finish()
    else pump()
  })
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
}

const CLOCK_TICKS_PER_SECOND = 100

/** User + system CPU time of another process, in microseconds, from /proc (Linux). */
export function processCpuMicros(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND
  } catch {
    return 0
  }
}

export interface MemoryFigures {
  heapUsed: number
  rss: number
}

/** Heap and RSS after a full garbage collection (run node with --expose-gc). */
export function memoryAfterGc(): MemoryFigures {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) {
    gc()
    gc()
  }
  const { heapUsed, rss } = process.memoryUsage()
  return { heapUsed, rss }
}

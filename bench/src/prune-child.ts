/**
 * Child process of the pruning case. It loads json-file-repository only after counting wrappers
 * are put on `fs.open` and `fs.readFile`, so the report can say how many files pruning opened.
 */
import fs from 'node:fs'
import path from 'node:path'
import { serveJob } from './child'
import { memoryAfterGc } from './measure'
import { DAY, newSession } from './sessions'

export type PruneJob =
  | { type: 'populate-core'; directory: string; n: number }
  | { type: 'populate-raw'; directory: string; n: number }
  | { type: 'prune-core'; directory: string }
  | { type: 'prune-raw'; directory: string }

export interface PruneRun {
  ms: number
  removed: number
  remaining: number
  /** Files opened (fs.open, fs.readFile) while pruning. */
  opened: number
  heapBefore: number
  heapPeak: number
  heapAfter: number
  rssBefore: number
  rssPeak: number
  rssAfter: number
}

/** The expiry of the short-lived half: set that far ahead, they expire while the bench waits. */
const SHORT_LIFE_MS = 2000
/** What the raw pass deletes: files not modified for this long (PHP's gc_maxlifetime is 1440 s). */
const RAW_MAX_LIFETIME_MS = 24 * 60 * 1000
const CONCURRENCY = 32

let opened = 0
const countOpens = <F extends (...args: never[]) => unknown>(original: F): F =>
  function (this: unknown, ...args: never[]) {
    opened++
    return original.apply(this, args)
  } as F
fs.open = countOpens(fs.open)
fs.readFile = countOpens(fs.readFile)

serveJob<PruneJob, unknown>(async (job) => {
  switch (job.type) {
    case 'populate-core':
      return populateCore(job.directory, job.n)
    case 'populate-raw':
      return populateRaw(job.directory, job.n)
    case 'prune-core': {
      const { JsonFileRepository } = await import('json-file-repository')
      const repository = new JsonFileRepository(job.directory)
      return timed(job.directory, () => repository.prune())
    }
    case 'prune-raw':
      return timed(job.directory, () => rawPrune(job.directory))
  }
})

/** Half the entries expire SHORT_LIFE_MS after they are written, half in a day. */
async function populateCore(directory: string, n: number): Promise<{ expiredBy: number }> {
  const { JsonFileRepository } = await import('json-file-repository')
  const repository = new JsonFileRepository(directory, { fsync: false, cache: false })
  let expiredBy = 0
  await inParallel(n, async (i) => {
    const now = Date.now()
    const expiresAt = i % 2 === 0 ? now + SHORT_LIFE_MS : now + DAY
    if (i % 2 === 0) expiredBy = Math.max(expiredBy, expiresAt)
    await repository.set(`s${i}`, newSession(i, now), { expiresAt })
  })
  await repository.close()
  return { expiredBy }
}

/** The same files for the raw pass; the expired half is given a modification time long past. */
async function populateRaw(directory: string, n: number): Promise<{ expiredBy: number }> {
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 })
  const past = (Date.now() - 2 * RAW_MAX_LIFETIME_MS) / 1000
  await inParallel(n, async (i) => {
    const file = path.join(directory, `s${i}.json`)
    await fs.promises.writeFile(file, JSON.stringify(newSession(i)), { mode: 0o600 })
    if (i % 2 === 0) await fs.promises.utimes(file, past, past)
  })
  return { expiredBy: 0 }
}

async function inParallel(n: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < n) await task(next++)
  }
  await Promise.all(Array.from({ length: 64 }, worker))
}

/** A raw pass, as a cron script would do it: readdir, lstat each file, unlink the old ones. */
function rawPrune(directory: string): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.readdir(directory, (error, names) => {
      if (error) return reject(error)
      const cutoff = Date.now() - RAW_MAX_LIFETIME_MS
      let index = 0
      let inFlight = 0
      let removed = 0
      const next = () => {
        while (inFlight < CONCURRENCY && index < names.length) {
          const file = path.join(directory, names[index++] as string)
          inFlight++
          fs.lstat(file, (statError, stats) => {
            if (statError || !stats.isFile() || stats.mtimeMs >= cutoff) return settle()
            fs.unlink(file, (unlinkError) => {
              if (!unlinkError) removed++
              settle()
            })
          })
        }
        if (inFlight === 0 && index >= names.length) resolve(removed)
      }
      const settle = () => {
        inFlight--
        next()
      }
      next()
    })
  })
}

async function timed(directory: string, prune: () => Promise<number>): Promise<PruneRun> {
  const before = memoryAfterGc()
  let heapPeak = before.heapUsed
  let rssPeak = before.rss
  const sample = () => {
    const { heapUsed, rss } = process.memoryUsage()
    heapPeak = Math.max(heapPeak, heapUsed)
    rssPeak = Math.max(rssPeak, rss)
  }
  const timer = setInterval(sample, 10)
  opened = 0
  const t0 = performance.now()
  const removed = await prune()
  const ms = performance.now() - t0
  const openedWhilePruning = opened
  clearInterval(timer)
  sample()
  const after = memoryAfterGc()
  return {
    ms,
    removed,
    remaining: fs.readdirSync(directory).length,
    opened: openedWhilePruning,
    heapBefore: before.heapUsed,
    heapPeak,
    heapAfter: after.heapUsed,
    rssBefore: before.rss,
    rssPeak,
    rssAfter: after.rss,
  }
}

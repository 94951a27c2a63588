/**
 * The figures of the core README's GlusterFS recipe, measured on a one-brick volume on this
 * machine (root, with glusterfs-server and glusterfs-client; see gluster.ts):
 * `pnpm build && pnpm exec ts-node --transpile-only packages/fastify-adapter/test/gluster-figures.ts`
 *
 * - the staleness window: how long after a write through mount A (temp file + rename, as the
 *   store writes) a read through mount B still returns the old content, with Gluster's defaults
 *   and with the recipe's options, raw and through a repository (with `revalidateAfter` too);
 * - requests/s and p99 of users counting views on two servers in turn (one per mount), with and
 *   without `fsync`, against the same on the local disk;
 * - requests/s of read-mostly requests, with the cache (validated by a synchronous `lstat`) and
 *   with `cache: false`.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { JsonFileRepository } from 'json-file-repository'
import { makeVolume, unavailable } from './gluster'
import { HttpBrowser, startServer } from './http'

const ROUNDS = 30
const SECONDS = 5
const USERS = 20

/** Quantile `q` of `values`. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

/** How long a read through `b` returns the old content after a replacement through `a`. */
async function staleness(
  write: (round: number) => Promise<void>,
  read: () => Promise<unknown>,
): Promise<string> {
  const windows: number[] = []
  let staleAtOnce = 0
  const errors = new Map<string, number>()
  // A read that fails (ESTALE, with Gluster's defaults) counts as stale, and is counted.
  const attempt = () =>
    read().catch((error) => {
      const code = String(error.cause?.code ?? error.code)
      errors.set(code, (errors.get(code) ?? 0) + 1)
    })
  for (let round = 1; round <= ROUNDS; round++) {
    await write(round)
    const start = performance.now()
    let first = true
    while ((await attempt()) !== round) {
      if (first) staleAtOnce++
      first = false
      if (performance.now() - start > 10_000) break
    }
    windows.push(performance.now() - start)
  }
  const failed = [...errors].map(([code, n]) => `${n} ${code}`).join(', ') || 'none'
  return `${staleAtOnce}/${ROUNDS} stale at the first read; window median ${quantile(windows, 0.5).toFixed(1)} ms, max ${Math.max(...windows).toFixed(1)} ms; failed reads: ${failed}`
}

async function stalenessFigures(a: string, b: string): Promise<void> {
  fs.mkdirSync(path.join(a, 'raw'), { mode: 0o700 })
  const raw = await staleness(
    async (round) => {
      fs.writeFileSync(path.join(a, 'raw', 'temp'), String(round))
      fs.renameSync(path.join(a, 'raw', 'temp'), path.join(a, 'raw', 'file'))
    },
    // Not readFileSync: Node 20 aborts the process when its close fails (ESTALE here).
    async () => Number(await fs.promises.readFile(path.join(b, 'raw', 'file'), 'utf8')),
  )
  console.log(`  raw temp file + rename through A, readFileSync through B: ${raw}`)
  for (const revalidateAfter of [0, 1000]) {
    fs.mkdirSync(path.join(a, `repo-${revalidateAfter}`), { mode: 0o700 })
    const writer = new JsonFileRepository<number>(path.join(a, `repo-${revalidateAfter}`), {
      fsync: false,
    })
    const reader = new JsonFileRepository<number>(path.join(b, `repo-${revalidateAfter}`), {
      cache: { revalidateAfter },
    })
    const figures = await staleness(
      async (round) => void (await writer.set('k', round)),
      () => reader.get('k'),
    )
    console.log(
      `  repository set through A, get through B, revalidateAfter ${revalidateAfter}: ${figures}`,
    )
    await Promise.all([writer.close(), reader.close()])
  }
}

/** Users on `urls` in turn for {@link SECONDS}: requests/s, p99 and wrong answers. */
async function load(urls: string[], route: '/' | '/me'): Promise<string> {
  const latencies: number[] = []
  let wrong = 0
  const end = performance.now() + SECONDS * 1000
  await Promise.all(
    Array.from({ length: USERS }, async (_, user) => {
      const browser = new HttpBrowser()
      await browser.json(urls[0] as string, `/login?userId=${user}`)
      for (let n = 1; performance.now() < end; n++) {
        const start = performance.now()
        const { status, body } = await browser.json(urls[n % urls.length] as string, route)
        latencies.push(performance.now() - start)
        if (status !== 200 || (route === '/' && body.views !== n)) wrong++
      }
    }),
  )
  return `${Math.round(latencies.length / SECONDS)} req/s, p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms, ${wrong} wrong of ${latencies.length}`
}

async function serverFigures(name: string, directories: string[]): Promise<void> {
  const cases: [string, object, '/' | '/me'][] = [
    ['views++, fsync off', { fsync: false }, '/'],
    ['views++, fsync on', { fsync: true }, '/'],
    ['read-mostly (/me), cache (the default)', {}, '/me'],
    ['read-mostly (/me), cache: false', { cache: false }, '/me'],
  ]
  for (const [label, options, route] of cases) {
    const dirs = directories.map((directory) => path.join(directory, label.replace(/\W+/g, '-')))
    fs.mkdirSync(dirs[0] as string, { mode: 0o700 })
    const servers = await Promise.all(dirs.map((directory) => startServer(directory, options)))
    try {
      console.log(
        `  ${name}, ${label}: ${await load(
          servers.map((s) => s.url),
          route,
        )}`,
      )
    } finally {
      await Promise.all(servers.map((server) => server.stop()))
    }
  }
}

async function main(): Promise<void> {
  const reason = await unavailable()
  if (reason) return console.log(`No GlusterFS here: ${reason}`)
  console.log(
    `${os.cpus().length} CPUs, load ${os
      .loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  )
  const local = fs.mkdtempSync(path.join(os.tmpdir(), 'jfr-local-'))
  try {
    if (!process.env.GLUSTER_ONLY) await serverFigures('local disk, two servers', [local, local])
  } finally {
    fs.rmSync(local, { recursive: true, force: true })
  }
  for (const coherent of [false, true]) {
    console.log(coherent ? "The recipe's options:" : "Gluster's default options:")
    const volume = await makeVolume(2, coherent)
    try {
      await stalenessFigures(volume.mounts[0] as string, volume.mounts[1] as string)
      if (coherent) await serverFigures('GlusterFS, a server per mount', volume.mounts)
    } finally {
      await volume.cleanUp()
    }
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})

/**
 * A writer process SIGKILLed at random moments, many times: every file stays whole, no
 * acknowledged write is lost, and prune() cleans up the temp files the kills left behind.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { JsonFileRepository } from 'json-file-repository'
import { fileNameToKey, tempFileWriter } from '../src/keys'
import {
  builtPackage,
  fixturesDirectory,
  makeTempDirectory,
  removeDirectory,
  waitUntilOlderThan,
} from './helpers'

// Child processes and fsyncs: sized for a loaded machine.
jest.setTimeout(120_000)

const ROUNDS = 20
/** What the writer stores for a sequence number (see fixtures/crash-writer.js). */
const valueFor = (key: string, seq: number) => ({ key, seq, pad: 'x'.repeat(seq % 4000) })

let directory: string
beforeAll(() => {
  directory = makeTempDirectory('crash')
})
afterAll(() => removeDirectory(directory))

const KEYS = 5

/**
 * Runs the writer until it has acknowledged a write of every key (however long that takes on a
 * loaded machine), lets it write `delay` ms more, kills it; returns its acks.
 */
function runAndKill(dist: string, first: number, fsync: boolean, delay: number) {
  return new Promise<[string, number][]>((resolve, reject) => {
    const script = path.join(fixturesDirectory, 'crash-writer.js')
    const child = spawn(process.execPath, [script, dist, directory, String(first), String(fsync)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let output = ''
    let killing = false
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      output += chunk
      if (killing || !output.startsWith('ready\n')) return
      const keys = new Set(
        output
          .split('\n')
          .slice(1, -1)
          .map((line) => line.split('\t')[0]),
      )
      if (keys.size < KEYS) return
      killing = true
      setTimeout(() => child.kill('SIGKILL'), delay)
    })
    child.on('error', reject)
    child.on('exit', (_, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`the writer exited by itself:\n${output}`))
      // Only whole lines were acknowledged; a line cut by the kill is not counted.
      const lines = output.split('\n').slice(1, -1)
      resolve(
        lines.map((line) => line.split('\t') as [string, string]).map(([k, s]) => [k, Number(s)]),
      )
    })
  })
}

test('files stay whole and acknowledged writes survive a writer killed 20 times', async () => {
  const dist = builtPackage()
  const acknowledged = new Map<string, number>()
  let acks = 0
  const tempsLeft = new Set<string>()
  for (let round = 0; round < ROUNDS; round++) {
    const delay = Math.floor(Math.random() * 56)
    const lines = await runAndKill(dist, round * 1_000_000, round % 2 === 0, delay)
    acks += lines.length
    for (const [key, seq] of lines) {
      acknowledged.set(key, Math.max(seq, acknowledged.get(key) ?? -1))
    }

    // After each kill: every entry's file parses and holds a value that was written, at least
    // as new as the last one acknowledged for its key.
    for (const name of fs.readdirSync(directory)) {
      const key = fileNameToKey(name)
      if (key === undefined) {
        expect(tempFileWriter(name)).toBeDefined()
        tempsLeft.add(name)
        continue
      }
      const value = JSON.parse(fs.readFileSync(path.join(directory, name), 'utf8'))
      expect(value).toEqual(valueFor(key, value.seq))
      expect(value.seq).toBeGreaterThanOrEqual(acknowledged.get(key) ?? -1)
    }
    const keys = fs.readdirSync(directory).map(fileNameToKey)
    for (const key of acknowledged.keys()) expect(keys).toContain(key)
  }
  // The kills did land while writes were acknowledged, for every key.
  expect(acks).toBeGreaterThan(ROUNDS)
  expect(acknowledged.size).toBe(KEYS)

  // A temp file is removed once its writer is gone and it is more than a second old.
  // And some of them landed between the creation of a temp file and its rename.
  expect(tempsLeft.size).toBeGreaterThan(0)
  // prune() leaves a temp file alone for a second after its last change: wait for that.
  const temps = fs.readdirSync(directory).filter((name) => tempFileWriter(name) !== undefined)
  await waitUntilOlderThan(
    temps.map((name) => path.join(directory, name)),
    1000,
  )
  const repository = new JsonFileRepository<{ seq: number }>(directory)
  await expect(repository.prune()).resolves.toBe(0)
  const names = fs.readdirSync(directory)
  expect(names.filter((name) => name.endsWith('.tmp'))).toEqual([])
  expect(names.map(fileNameToKey).sort()).toEqual([...acknowledged.keys()].sort())
  for (const [key, seq] of acknowledged) {
    const value = await repository.get(key)
    expect(value).toEqual(valueFor(key, value?.seq ?? -1))
    expect(value?.seq).toBeGreaterThanOrEqual(seq)
  }
  await repository.close()
})

test('prune() removes temp files of dead writers and of this process, never young ones or a live writer’s', async () => {
  const temps = path.join(directory, 'temps')
  const repository = new JsonFileRepository(temps)
  await repository.set('a', 1)
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number
  const name = (key: string, pid: number) => `.${key}.json.${pid}.0a1b2c3d.tmp`
  // pid 1 (init) lives as long as the container: its temp file may still be written.
  const old = [name('dead', dead), name('mine', process.pid), name('live', 1)]
  for (const temp of old) fs.writeFileSync(path.join(temps, temp), '{"half":')
  await waitUntilOlderThan(
    old.map((temp) => path.join(temps, temp)),
    1000,
  )
  const young = name('young', dead)
  fs.writeFileSync(path.join(temps, young), '{"half":')
  await expect(repository.prune()).resolves.toBe(0)
  expect(fs.readdirSync(temps).sort()).toEqual([name('live', 1), young, 'a.json'].sort())
  await repository.close()
})

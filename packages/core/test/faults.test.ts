/**
 * Faults of the file system: too many open files, a full disk, a read-only directory. Each
 * gives a typed ERR_IO through the promise, never a throw or a hang, and the repository works
 * again once the fault clears. The disk and read-only cases need `mount` (root, and a kernel
 * that allows it here); where it fails they are skipped with the reason printed.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { JsonFileRepository } from 'json-file-repository'
import { expiryToMtime } from '../src/expiry'
import {
  builtPackage,
  fixturesDirectory,
  listNames,
  makeTempDirectory,
  memoryLogger,
  removeDirectory,
  tryMount,
  unmount,
} from './helpers'

// A child process, mounts and fsyncs: sized for a loaded machine.
jest.setTimeout(120_000)

let root: string
const mounted: string[] = []
beforeAll(() => {
  root = makeTempDirectory('faults')
})
afterAll(() => {
  for (const directory of mounted) unmount(directory)
  removeDirectory(root)
})

/** Mounts a small tmpfs at a new directory, or returns why it cannot. */
function mountTmpfs(name: string): { directory: string } | { skip: string } {
  const directory = path.join(root, name)
  fs.mkdirSync(directory)
  const failure = tryMount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', directory])
  if (failure !== undefined) return { skip: `mount -t tmpfs failed: ${failure}` }
  mounted.push(directory)
  return { directory }
}

function skip(test: string, reason: string) {
  console.log(`Skipped "${test}": ${reason}`)
}

const ioError = (cause: string) =>
  expect.objectContaining({
    name: 'JsonFileRepositoryError',
    code: 'ERR_IO',
    cause: expect.objectContaining({ code: cause }),
  })

test('with no file descriptor left, get() and set() reject with ERR_IO (EMFILE), then recover', () => {
  const directory = path.join(root, 'emfile')
  fs.mkdirSync(directory, { mode: 0o700 })
  const script = path.join(fixturesDirectory, 'emfile.js')
  const output = execFileSync(
    'bash',
    ['-c', 'ulimit -n 40; exec "$0" "$@"', process.execPath, script, builtPackage(), directory],
    { encoding: 'utf8', timeout: 115_000 },
  )
  const report = JSON.parse(output)
  expect(report.crashed).toBeUndefined()
  expect(report.opened).toBeGreaterThan(0)
  const emfile = { code: 'ERR_IO', cause: 'EMFILE', name: 'JsonFileRepositoryError' }
  expect(report.exhausted).toEqual({
    getCold: emfile,
    hasCold: emfile,
    setNew: emfile,
    setWarm: emfile,
    touchWarm: emfile,
  })
  expect(report.leftAfterFailure).toEqual(['cold.json', 'warm.json'])
  expect(report.recovered).toEqual({
    getCold: { value: { cold: true } },
    setNew: { value: true },
    getNew: { value: { n: 2 } },
    getWarm: { value: { warm: true } },
  })
})

test('on a full disk set() rejects with ERR_IO (ENOSPC), leaves no temp file, and recovers', async () => {
  const mount = mountTmpfs('full')
  if ('skip' in mount) return skip('disk full', mount.skip)
  const directory = path.join(mount.directory, 'repository')
  const repository = new JsonFileRepository<unknown>(directory)
  await repository.set('kept', { kept: true })
  await repository.set('cached', { cached: 1 })
  await repository.get('cached')

  // Fill the disk to the last byte.
  const filler = path.join(mount.directory, 'filler')
  const fd = fs.openSync(filler, 'w')
  const block = Buffer.alloc(4096, 1)
  try {
    for (;;) fs.writeSync(fd, block)
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC')
  } finally {
    fs.closeSync(fd)
  }

  await expect(repository.set('new', { big: 'x'.repeat(8000) })).rejects.toEqual(ioError('ENOSPC'))
  await expect(repository.set('kept', { kept: 'changed' })).rejects.toEqual(ioError('ENOSPC'))
  await expect(repository.set('cached', { cached: 2 })).rejects.toEqual(ioError('ENOSPC'))
  expect(listNames(directory)).toEqual(['cached.json', 'kept.json'])
  await expect(repository.get('kept')).resolves.toEqual({ kept: true })
  await expect(repository.get('cached')).resolves.toEqual({ cached: 1 })
  const cold = new JsonFileRepository<unknown>(directory, { cache: false })
  await expect(cold.get('kept')).resolves.toEqual({ kept: true })

  fs.unlinkSync(filler)
  await repository.set('new', { big: 'x'.repeat(8000) })
  await repository.set('cached', { cached: 2 })
  await expect(cold.get('new')).resolves.toEqual({ big: 'x'.repeat(8000) })
  await expect(cold.get('cached')).resolves.toEqual({ cached: 2 })
  await Promise.all([repository.close(), cold.close()])
})

test('in a read-only directory reads work and changes reject with ERR_IO (EROFS), then recover', async () => {
  const mount = mountTmpfs('readonly')
  if ('skip' in mount) return skip('read-only', mount.skip)
  const directory = path.join(mount.directory, 'repository')
  const repository = new JsonFileRepository<unknown>(directory)
  await repository.set('a', { a: 1 }, { expiresAt: Date.now() + 3_600_000 })
  await repository.set('expired', 1, { expiresAt: Date.now() + 3_600_000 })
  // Expired since, as time passing would make it: its expiry, in the file's time, set in the past.
  const expiredAt = expiryToMtime(Date.now() - 60_000)
  fs.utimesSync(repository.path('expired'), expiredAt, expiredAt)
  const failure = tryMount(['-o', 'remount,ro', mount.directory])
  if (failure !== undefined) return skip('read-only', `mount -o remount,ro failed: ${failure}`)
  try {
    await expect(repository.get('a')).resolves.toEqual({ a: 1 })
    await expect(new JsonFileRepository(directory).get('a')).resolves.toEqual({ a: 1 })
    // An expired entry is a miss even where its file cannot be removed; prune() reports that.
    await expect(repository.get('expired')).resolves.toBeUndefined()
    await expect(repository.set('a', { a: 2 })).rejects.toEqual(ioError('EROFS'))
    await expect(repository.set('b', 1)).rejects.toEqual(ioError('EROFS'))
    await expect(repository.touch('a', Date.now() + 7_200_000)).rejects.toEqual(ioError('EROFS'))
    await expect(repository.delete('a')).rejects.toEqual(ioError('EROFS'))
    await expect(repository.prune()).rejects.toEqual(ioError('EROFS'))
    await expect(repository.get('a')).resolves.toEqual({ a: 1 })
  } finally {
    expect(tryMount(['-o', 'remount,rw', mount.directory])).toBeUndefined()
  }
  await repository.set('a', { a: 3 })
  await expect(new JsonFileRepository(directory).get('a')).resolves.toEqual({ a: 3 })
  await expect(repository.prune()).resolves.toBe(1)
  await repository.close()
})

test('on a filesystem that cannot store times after 2200, the first write with an expiry logs an error once and entries never expire', async () => {
  // ext4 with 128-byte inodes keeps times up to 2038 only.
  const image = path.join(root, 'ext4-128.img')
  const directory = path.join(root, 'ext4-128')
  fs.mkdirSync(directory)
  try {
    fs.writeFileSync(image, '')
    fs.truncateSync(image, 4 * 1024 * 1024)
    execFileSync('mkfs.ext4', ['-q', '-F', '-I', '128', image], { stdio: 'pipe' })
  } catch (error) {
    return skip('clamped times', `mkfs.ext4 -I 128 failed: ${(error as Error).message}`)
  }
  const failure = tryMount(['-o', 'loop', image, directory])
  if (failure !== undefined) return skip('clamped times', `mount -o loop failed: ${failure}`)
  mounted.push(directory)
  const logger = memoryLogger()
  const repository = new JsonFileRepository<unknown>(path.join(directory, 'repository'), { logger })
  await repository.set('a', 1, { expiresAt: Date.now() + 3_600_000 })
  await repository.set('b', 2, { expiresAt: Date.now() + 3_600_000 })
  expect(logger.records).toEqual([
    expect.objectContaining({
      level: 'error',
      message: expect.stringMatching(
        /stores no modification time after 2038-01-19T03:14:07\.000Z.*: entries stored there never expire$/,
      ),
    }),
  ])
  // No path in the message: a logger may pass it on where paths must not go.
  expect(logger.records[0]?.message).not.toContain(directory)
  await expect(repository.getEntry('a')).resolves.toMatchObject({ value: 1, expiresAt: undefined })
  await expect(repository.prune()).resolves.toBe(0)
  await expect(repository.get('b')).resolves.toBe(2)
  await repository.close()
})

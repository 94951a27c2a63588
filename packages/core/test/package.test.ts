/**
 * The packages as npm users get them: both packed with `pnpm pack` from the build (`pnpm build`
 * first, as for the other tests that use it), then checked as a registry would see them
 * (publint, @arethetypeswrong/cli, `npm publish --dry-run`, all offline), the adapter's
 * dependencies and peer dependencies checked against what it imports and is tested with, and,
 * for the core and the Express adapter, installed with npm into a fresh project, loaded with
 * `require`, with ESM `import`, and type-checked.
 *
 * Packing only reads `dist`, which other test files run in child processes at the same time.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { makeTempDirectory, packageDirectory, removeDirectory } from './helpers'

const rootDirectory = path.resolve(packageDirectory, '..', '..')
const tsc = path.join(rootDirectory, 'node_modules', 'typescript', 'bin', 'tsc')
const bin = (name: string) => path.join(rootDirectory, 'node_modules', '.bin', name)
/** A loaded 2-core machine: pack, npm install, three tsc runs, publint, attw, npm publish. */
const TIMEOUT = 180_000

interface Packed {
  name: string
  /** The .tgz file. */
  tarball: string
  /** Where it is extracted: its `package` directory. */
  root: string
  /** Every file in it, relative to `package/`. */
  files: string[]
}

const packages: Record<string, string> = {
  'json-file-repository': packageDirectory,
  'fastify-file-session-store': path.join(rootDirectory, 'packages', 'fastify-adapter'),
  'express-file-session-store': path.join(rootDirectory, 'packages', 'express-adapter'),
}
const packed = new Map<string, Packed>()

let directory: string
beforeAll(() => {
  directory = makeTempDirectory('package')
  for (const [name, source] of Object.entries(packages)) packed.set(name, pack(name, source))
}, TIMEOUT)
afterAll(() => removeDirectory(directory))

/** The environment without the npm_* variables a `pnpm test` run sets, which npm would read. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)))
}

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      env: cleanEnvironment(),
      stdio: 'pipe',
    })
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string }
    const message = `${path.basename(command)} ${args.join(' ')} failed:\n${stdout}\n${stderr}`
    throw Object.assign(new Error(message), { stdout, stderr })
  }
}

/** Fails when `dist` is missing or older than a source, rather than testing stale code. */
function checkBuilt(source: string): void {
  const hint = 'run `pnpm build` first'
  const names = fs.readdirSync(path.join(source, 'src'), { recursive: true, encoding: 'utf8' })
  for (const name of names.filter((name) => name.endsWith('.ts'))) {
    const built = path.join(source, 'dist', name.replace(/\.ts$/, '.js'))
    const mtime = fs.statSync(path.join(source, 'src', name)).mtimeMs
    if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < mtime) {
      throw new Error(`${built} is missing or older than src/${name}: ${hint}`)
    }
  }
}

function listFiles(root: string): string[] {
  return fs
    .readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((name) => fs.statSync(path.join(root, name)).isFile())
    .map((name) => name.split(path.sep).join('/'))
    .sort()
}

function pack(name: string, source: string): Packed {
  checkBuilt(source)
  const destination = path.join(directory, name)
  fs.mkdirSync(destination)
  run('pnpm', ['pack', '--pack-destination', destination], source)
  const [tarball] = fs.readdirSync(destination).filter((file) => file.endsWith('.tgz'))
  expect(tarball).toMatch(new RegExp(`^${name}-\\d+\\.\\d+\\.\\d+.*\\.tgz$`))
  const tarballPath = path.join(destination, tarball as string)
  run('tar', ['-xzf', tarballPath], destination)
  const root = path.join(destination, 'package')
  return { name, tarball: tarballPath, root, files: listFiles(root) }
}

const packedPackage = (name: string) => packed.get(name) as Packed

/** The packages the declarations of a packed package import. */
function importsOf(root: string, files: string[]): Set<string> {
  const imported = new Set<string>()
  for (const file of files.filter((file) => file.endsWith('.d.ts'))) {
    const text = fs.readFileSync(path.join(root, file), 'utf8')
    for (const [, specifier] of text.matchAll(/from '([^.][^']*)'/g)) {
      imported.add(specifier as string)
    }
  }
  return imported
}
const names = Object.keys(packages)

test.each(names)(
  '%s ships LICENSE, README, dist and the sources its maps name, and no tests',
  (name) => {
    const { root, files } = packedPackage(name)
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'dist/index.js',
        'dist/index.d.ts',
        'src/index.ts',
      ]),
    )
    expect(
      files.filter((file) => !/^(package\.json|README\.md|LICENSE|(dist|src)\/.+)$/.test(file)),
    ).toEqual([])
    expect(files.filter((file) => /\.test\.ts$|(^|\/)test\//.test(file))).toEqual([])

    const license = fs.readFileSync(path.join(root, 'LICENSE'), 'utf8')
    expect(license).toBe(fs.readFileSync(path.join(rootDirectory, 'LICENSE'), 'utf8'))
    expect(license).toMatch(
      /^MIT License\n\nCopyright \(c\) 2026 The json-file-repository contributors\n/,
    )

    // Every map (of the JavaScript and of the declarations) names files that are shipped.
    const maps = files.filter((file) => file.endsWith('.map'))
    expect(maps).toEqual(expect.arrayContaining(['dist/index.js.map', 'dist/index.d.ts.map']))
    const missing: string[] = []
    for (const map of maps) {
      const { sources, sourceRoot = '' } = JSON.parse(
        fs.readFileSync(path.join(root, map), 'utf8'),
      ) as { sources: string[]; sourceRoot?: string }
      expect(sources.length).toBeGreaterThan(0)
      for (const source of sources) {
        const file = path.posix.join(path.posix.dirname(map), sourceRoot, source)
        if (!files.includes(file)) missing.push(`${map}: ${source}`)
      }
    }
    expect(missing).toEqual([])

    // The manifest as published: workspace: ranges replaced, bin paths as npm keeps them.
    const manifest = fs.readFileSync(path.join(root, 'package.json'), 'utf8')
    expect(manifest).not.toContain('workspace:')
    const { license: licenseField, bin = {} } = JSON.parse(manifest) as {
      license: string
      bin?: Record<string, string>
    }
    expect(licenseField).toBe('MIT')
    for (const target of Object.values(bin)) expect(target).toMatch(/^dist\/[\w-]+\.js$/)
  },
)

test.each(names)(
  '%s passes publint and @arethetypeswrong/cli, and npm publish --dry-run does not warn',
  (name) => {
    const { tarball, root } = packedPackage(name)
    expect(run(bin('publint'), ['--strict', tarball], directory)).toMatch(/All good!/)
    // attw exits with 1 when it finds a problem, printing it; a tarball needs no network.
    run(bin('attw'), [tarball, '--format', 'table-flipped', '--no-emoji', '--no-color'], directory)

    // Offline, against a registry that does not exist: a placeholder token for it keeps npm
    // from warning that nobody is logged in, which is all it would say without one.
    const userconfig = path.join(directory, `${name}.npmrc`)
    fs.writeFileSync(
      userconfig,
      'registry=http://127.0.0.1:9/\n//127.0.0.1:9/:_authToken=placeholder\n',
    )
    const published = spawnSync(
      'npm',
      ['publish', '--dry-run', '--offline', '--ignore-scripts', '--userconfig', userconfig],
      { cwd: root, encoding: 'utf8', env: cleanEnvironment() },
    )
    const output = `${published.stdout}${published.stderr}`
    expect({
      status: published.status,
      warnings: output.split('\n').filter((line) => /\bwarn/i.test(line)),
    }).toEqual({ status: 0, warnings: [] })
    expect(published.stdout).toMatch(new RegExp(`^\\+ ${name}@\\d+\\.\\d+\\.\\d+`, 'm'))
  },
  TIMEOUT,
)

test('the packed adapter declares its tested peers and every package its declarations import', () => {
  const { root, files } = packedPackage('fastify-file-session-store')
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const adapter = packages['fastify-file-session-store'] as string
  const tested = JSON.parse(fs.readFileSync(path.join(adapter, 'package.json'), 'utf8'))
  // The app's own fastify and @fastify/session, in the ranges the tests run.
  expect(manifest.peerDependencies).toEqual({
    '@fastify/session': tested.devDependencies['@fastify/session'],
    fastify: tested.devDependencies.fastify,
  })
  const core = JSON.parse(fs.readFileSync(path.join(packageDirectory, 'package.json'), 'utf8'))
  expect(manifest.dependencies).toEqual({ 'json-file-repository': `^${core.version}` })
  const imported = importsOf(root, files)
  expect([...imported].sort()).toEqual([
    '@fastify/session',
    'fastify',
    'json-file-repository',
    'node:stream',
  ])
  const declared = { ...manifest.dependencies, ...manifest.peerDependencies }
  for (const specifier of imported) {
    if (!specifier.startsWith('node:')) expect(declared).toHaveProperty([specifier])
  }
})

test(
  'the packed core installs with npm and works from require, import and TypeScript',
  () => {
    const tarballPath = packedPackage('json-file-repository').tarball
    const project = path.join(directory, 'project')
    fs.mkdirSync(project)
    run('npm', ['init', '-y'], project)
    run('npm', ['install', '--no-audit', '--no-fund', tarballPath], project)

    // CommonJS.
    const cjs = `
    const { JsonFileRepository, JsonFileRepositoryError } = require('json-file-repository')
    const repository = new JsonFileRepository('data-cjs')
    repository.set('k', { from: 'require' })
      .then(() => repository.get('k'))
      .then((value) => console.log(JSON.stringify({ value, error: typeof JsonFileRepositoryError })))
  `
    expect(JSON.parse(run(process.execPath, ['-e', cjs], project))).toEqual({
      value: { from: 'require' },
      error: 'function',
    })

    // ESM named imports of the CommonJS build.
    fs.writeFileSync(
      path.join(project, 'esm.mjs'),
      `import { JsonFileRepository, JsonFileRepositoryError } from 'json-file-repository'
    const repository = new JsonFileRepository('data-esm')
    await repository.set('k', { from: 'import' })
    const error = await repository.get('').catch((caught) => caught)
    console.log(JSON.stringify({ value: await repository.get('k'), code: error instanceof JsonFileRepositoryError && error.code }))
    `,
    )
    expect(JSON.parse(run(process.execPath, ['esm.mjs'], project))).toEqual({
      value: { from: 'import' },
      code: 'ERR_INVALID_KEY',
    })

    // The type declarations, with a file that must fail to compile as a control.
    fs.writeFileSync(
      path.join(project, 'check.ts'),
      `import { JsonFileRepository, JsonFileRepositoryError, type JsonFileRepositoryOptions } from 'json-file-repository'
    const options: JsonFileRepositoryOptions = { fsync: false, cache: { maxEntries: 10 } }
    const users = new JsonFileRepository<{ a: number }>('users', options)
    export const pending: Promise<{ a: number } | undefined> = users.get('1')
    // @ts-expect-error: a value of the wrong type
    users.set('1', { a: 'one' })
    export const isError = (error: unknown) => error instanceof JsonFileRepositoryError && error.code === 'ERR_IO'
    `,
    )
    fs.writeFileSync(
      path.join(project, 'wrong.ts'),
      `import { JsonFileRepository } from 'json-file-repository'
    export const wrong: Promise<string> = new JsonFileRepository<{ a: number }>('x').get('1')
    `,
    )
    expect(typeCheck(project, 'check.ts')).toBe('')
    expect(typeErrors(project, 'wrong.ts')).toMatch(/wrong\.ts\(2,\d+\): error TS2322/)
  },
  TIMEOUT,
)

/** Type-checks `files` in `project` as a strict Node 20 project would; throws on an error. */
function typeCheck(project: string, ...files: string[]): string {
  const options = ['--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext']
  return run(
    process.execPath,
    [tsc, ...options, '--strict', '--target', 'es2022', ...files],
    project,
  )
}

/** What `tsc` says of `file`, which must not compile. */
function typeErrors(project: string, file: string): string {
  try {
    typeCheck(project, file)
  } catch (error) {
    return String((error as { stdout?: string }).stdout)
  }
  throw new Error(`${file} compiles`)
}

test(
  'the packed Express adapter installs with npm beside express-session and works from require, import and TypeScript',
  () => {
    const project = path.join(directory, 'express-project')
    fs.mkdirSync(project)
    run('npm', ['init', '-y'], project)
    const tarballs = ['json-file-repository', 'express-file-session-store'].map(
      (name) => packedPackage(name).tarball,
    )
    const peers = ['express-session@^1.18.0', '@types/express-session@^1.18.0']
    run('npm', ['install', '--no-audit', '--no-fund', ...tarballs, ...peers], project)

    const cjs = `
    const session = require('express-session')
    const { FileStore, fingerprint } = require('express-file-session-store')
    const store = new FileStore({ directory: 'sessions-cjs', fsync: false })
    const cookie = { originalMaxAge: null, expires: null }
    store.set('abc', { cookie, from: 'require' }, (error) => {
      if (error) throw error
      store.get('abc', (_, loaded) => {
        console.log(JSON.stringify({ store: store instanceof session.Store, from: loaded.from, fingerprint: typeof fingerprint }))
        store.close()
      })
    })
  `
    expect(JSON.parse(run(process.execPath, ['-e', cjs], project))).toEqual({
      store: true,
      from: 'require',
      fingerprint: 'function',
    })

    fs.writeFileSync(
      path.join(project, 'esm.mjs'),
      `import session from 'express-session'
    import { FileStore, JsonFileRepositoryError } from 'express-file-session-store'
    const store = new FileStore('sessions-esm')
    const length = await new Promise((resolve) => store.length((_, n) => resolve(n)))
    console.log(JSON.stringify({ store: store instanceof session.Store, length, error: typeof JsonFileRepositoryError }))
    await store.close()
    `,
    )
    expect(JSON.parse(run(process.execPath, ['esm.mjs'], project))).toEqual({
      store: true,
      length: 0,
      error: 'function',
    })

    fs.writeFileSync(
      path.join(project, 'check.ts'),
      `import session from 'express-session'
    import { FileStore, type FileStoreOptions } from 'express-file-session-store'
    const options: FileStoreOptions = { directory: 'sessions', ttl: 3_600_000, cache: { maxEntries: 10 } }
    export const middleware = session({ secret: 's', resave: false, saveUninitialized: false, store: new FileStore(options) })
    `,
    )
    fs.writeFileSync(
      path.join(project, 'wrong.ts'),
      `import { FileStore } from 'express-file-session-store'
    export const wrong: string = new FileStore('sessions').directory.length
    `,
    )
    expect(typeCheck(project, 'check.ts')).toBe('')
    expect(typeErrors(project, 'wrong.ts')).toMatch(/wrong\.ts\(2,\d+\): error TS2322/)
  },
  TIMEOUT,
)

test('the packed Express adapter declares its tested peer and every package its declarations import', () => {
  const { root, files } = packedPackage('express-file-session-store')
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const adapter = packages['express-file-session-store'] as string
  const tested = JSON.parse(fs.readFileSync(path.join(adapter, 'package.json'), 'utf8'))
  // express-session 1.18 and on; the tests run the newest.
  expect(manifest.peerDependencies).toEqual({
    'express-session': '^1.18.0',
    '@types/express-session': '^1.18.0',
  })
  expect(tested.devDependencies['express-session']).toMatch(/^\^1\.(1[89]|[2-9]\d)\./)
  expect(manifest.peerDependenciesMeta).toEqual({ '@types/express-session': { optional: true } })
  const core = JSON.parse(fs.readFileSync(path.join(packageDirectory, 'package.json'), 'utf8'))
  expect(manifest.dependencies).toEqual({ 'json-file-repository': `^${core.version}` })
  const imported = importsOf(root, files)
  expect([...imported].sort()).toEqual(['express-session', 'json-file-repository'])
})

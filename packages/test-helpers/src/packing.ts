/**
 * The packages as npm users get them: packed with `pnpm pack` from the build (`pnpm build`
 * first, as for the other tests that use it), then checked as a registry would see them
 * (publint, @arethetypeswrong/cli, `npm publish --dry-run`, all offline). Each package's
 * `package.test.ts` packs itself (and the core, which an adapter installs with) and checks what
 * only it has: its peers, and how it installs with npm into a fresh project.
 *
 * Packing only reads `dist`, which other test files run in child processes at the same time.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { makeTempDirectory, removeDirectory } from './files'

export const rootDirectory = path.resolve(__dirname, '..', '..', '..')
const tsc = path.join(rootDirectory, 'node_modules', 'typescript', 'bin', 'tsc')
const bin = (name: string) => path.join(rootDirectory, 'node_modules', '.bin', name)
/** A loaded 2-core machine: pack, npm install, three tsc runs, publint, attw, npm publish. */
export const PACKING_TIMEOUT = 180_000

/** The directory of each published package, by name. */
export const packageSources = {
  'json-file-repository': path.join(rootDirectory, 'packages', 'core'),
  'fastify-file-session-store': path.join(rootDirectory, 'packages', 'fastify-adapter'),
  'express-file-session-store': path.join(rootDirectory, 'packages', 'express-adapter'),
} as const
export type PackageName = keyof typeof packageSources

export interface Packed {
  name: string
  /** The .tgz file. */
  tarball: string
  /** Where it is extracted: its `package` directory. */
  root: string
  /** Every file in it, relative to `package/`. */
  files: string[]
  /** Its `package.json`, as published. */
  // biome-ignore lint/suspicious/noExplicitAny: a manifest as the tests read it, field by field
  manifest: Record<string, any>
}

/** The environment without the npm_* variables a `pnpm test` run sets, which npm would read. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)))
}

export function run(command: string, args: string[], cwd: string): string {
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

function pack(name: PackageName, directory: string): Packed {
  const source = packageSources[name]
  checkBuilt(source)
  const destination = path.join(directory, name)
  fs.mkdirSync(destination)
  run('pnpm', ['pack', '--pack-destination', destination], source)
  const [tarball] = fs.readdirSync(destination).filter((file) => file.endsWith('.tgz'))
  expect(tarball).toMatch(new RegExp(`^${name}-\\d+\\.\\d+\\.\\d+.*\\.tgz$`))
  const tarballPath = path.join(destination, tarball as string)
  run('tar', ['-xzf', tarballPath], destination)
  const root = path.join(destination, 'package')
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  return { name, tarball: tarballPath, root, files: listFiles(root), manifest }
}

/**
 * Packs `names` in a temp directory before the file's tests, removed after them; gives each
 * packed package, and the directory to work in.
 */
export function packed(...names: PackageName[]): {
  (name: PackageName): Packed
  directory(): string
} {
  const done = new Map<string, Packed>()
  let directory: string
  beforeAll(() => {
    directory = makeTempDirectory('package')
    for (const name of names) done.set(name, pack(name, directory))
  }, PACKING_TIMEOUT)
  afterAll(() => removeDirectory(directory))
  return Object.assign((name: PackageName) => done.get(name) as Packed, {
    directory: () => directory,
  })
}

/** The packages the declarations of a packed package import. */
export function importsOf({ root, files }: Packed): Set<string> {
  const imported = new Set<string>()
  for (const file of files.filter((file) => file.endsWith('.d.ts'))) {
    const text = fs.readFileSync(path.join(root, file), 'utf8')
    for (const [, specifier] of text.matchAll(/from '([^.][^']*)'/g)) {
      imported.add(specifier as string)
    }
  }
  return imported
}

/** The manifest of a package as it is in the repository (what its tests run with). */
export function sourceManifest(name: PackageName): {
  version: string
  devDependencies: Record<string, string>
} {
  return JSON.parse(fs.readFileSync(path.join(packageSources[name], 'package.json'), 'utf8'))
}

/** What every published package must be, as a registry sees it. */
export function describePublished(name: PackageName, packedPackage: ReturnType<typeof packed>) {
  test(`${name} ships LICENSE, README, dist and the sources its maps name, and no tests`, () => {
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
    const {
      license: licenseField,
      bin = {},
      dependencies = {},
      peerDependencies = {},
    } = JSON.parse(manifest) as {
      license: string
      bin?: Record<string, string>
      dependencies?: Record<string, string>
      peerDependencies?: Record<string, string>
    }
    // The tests' helpers are private: nothing a user installs may need them.
    expect(Object.keys({ ...dependencies, ...peerDependencies })).not.toContain(
      '@json-file-repository/test-helpers',
    )
    expect(licenseField).toBe('MIT')
    for (const target of Object.values(bin)) expect(target).toMatch(/^dist\/[\w-]+\.js$/)
  })

  test(
    `${name} passes publint and @arethetypeswrong/cli, and npm publish --dry-run does not warn`,
    () => {
      const { tarball, root } = packedPackage(name)
      const directory = packedPackage.directory()
      expect(run(bin('publint'), ['--strict', tarball], directory)).toMatch(/All good!/)
      // attw exits with 1 when it finds a problem, printing it; a tarball needs no network.
      run(
        bin('attw'),
        [tarball, '--format', 'table-flipped', '--no-emoji', '--no-color'],
        directory,
      )

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
    PACKING_TIMEOUT,
  )
}

/** Type-checks `files` in `project` as a strict Node 20 project would; throws on an error. */
export function typeCheck(project: string, ...files: string[]): string {
  const options = ['--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext']
  return run(
    process.execPath,
    [tsc, ...options, '--strict', '--target', 'es2022', ...files],
    project,
  )
}

/** What `tsc` says of `file`, which must not compile. */
export function typeErrors(project: string, file: string): string {
  try {
    typeCheck(project, file)
  } catch (error) {
    return String((error as { stdout?: string }).stdout)
  }
  throw new Error(`${file} compiles`)
}

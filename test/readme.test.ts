/**
 * Every example of the four READMEs (README.md and packages/*\/README.md), run the way a user
 * would run it:
 * - the three packages are packed (`pnpm pack`, from the build) and installed with npm into one
 *   fresh app (`npm init -y`, so CommonJS), beside exactly the packages the READMEs' `npm i`
 *   lines name (ours replaced by their tarballs, since none is published yet);
 * - every TypeScript and JavaScript block is a file of that app, type-checked by one strict
 *   `tsc` (which also builds them) and run with node as its README presents it: CommonJS, or an
 *   ES module where the README says so. A block that serves HTTP is started on a free port
 *   (it reads PORT, as the READMEs show), asked one or two requests, and stopped;
 * - the shell blocks that work offline on an app (the command line's synopsis and examples) run
 *   with bash in the app's directory, and `export-redis | redis-cli --pipe` against a private
 *   redis-server when one is installed.
 * A block that is a fragment by design gets the context its README leaves to the reader from
 * EXAMPLES below, in one place, next to its name; nothing else is added to any block.
 *
 * And every link of a package README resolves from the published package.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {
  expiryToMtime,
  makeTempDirectory,
  removeDirectory,
  startRedis,
} from '@json-file-repository/test-helpers'
import { JsonFileRepository } from 'json-file-repository'

const rootDirectory = path.resolve(__dirname, '..')
const tsc = path.join(rootDirectory, 'node_modules', 'typescript', 'bin', 'tsc')
const READMES = [
  'README.md',
  'packages/core/README.md',
  'packages/fastify-adapter/README.md',
  'packages/express-adapter/README.md',
]
const PACKAGES: Record<string, string> = {
  'json-file-repository': 'packages/core',
  'fastify-file-session-store': 'packages/fastify-adapter',
  'express-file-session-store': 'packages/express-adapter',
}
/** Where the package READMEs link to, as their package.json's `repository` says. */
const REPOSITORY_URL = 'https://github.com/json-file-repository/json-file-repository/blob/main/'
const KEY = Buffer.alloc(32, 7).toString('base64')
/** npm install from the registry, tsc over every block, on a loaded 2-core machine. */
const SETUP_TIMEOUT = 300_000
jest.setTimeout(120_000)

interface Block {
  /** `<readme> › <heading> › <lang> <n>`: the n-th block of that language under that heading. */
  name: string
  readme: string
  lang: string
  code: string
}

/** How a TypeScript or JavaScript block is run. */
interface Example {
  /** What the README leaves to the reader's app around a fragment, put before the block. */
  glue?: string
  /** `'esm'` where the README presents the block as an ES module. CommonJS otherwise. */
  module?: 'esm'
  env?: Record<string, string>
  /**
   * `'exit'` (the default): it ends by itself, with code 0, printing `stdout` if given.
   * `'serve'`: it listens on PORT; `views` says it counts views in a session at `/`.
   * Else why it is only type-checked.
   */
  run?: 'exit' | 'serve' | { typeCheckOnly: string }
  views?: boolean
  stdout?: RegExp
}

/** How a shell block is run: a shell script in the app's directory, or why it is not. */
interface Shell {
  run: 'script' | 'synopsis' | 'crontab' | 'redis' | { notRun: string }
  stdout?: RegExp
}

const FASTIFY_APP = `import fastifySession from '@fastify/session'
import Fastify from 'fastify'
const app = Fastify()
const secret = 'a very secret key with at least 32 characters'
const cookie = { secure: false }
`
const EXPRESS_APP = `const express = require('express')
const session = require('express-session')
const app = express()
const secret = 'a very secret key with at least 32 characters'
`

/** The blocks that need more than to be run to their end; the glue of the fragments. */
const EXAMPLES: Record<string, Example> = {
  'README.md › The packages › ts 1': { run: 'serve' },
  'README.md › The packages › ts 2': { run: 'serve' },
  'packages/core/README.md › Usage › ts 1': {
    module: 'esm',
    stdout:
      /^\{ name: 'Ada', roles: \[ 'admin' \] \}\n(42 Ada\nguest Guest|guest Guest\n42 Ada)\n$/,
  },
  'packages/fastify-adapter/README.md › Usage › ts 1': { run: 'serve', views: true },
  'packages/fastify-adapter/README.md › `encryption` › ts 1': { env: { SESSION_FILE_KEY: KEY } },
  // Step 2 of a move: the app of the steps before.
  'packages/fastify-adapter/README.md › Moving to Redis › ts 1': {
    glue: FASTIFY_APP,
    run: {
      typeCheckOnly:
        "it connects to the reader's Redis on port 6379; redis-move.test.ts makes the move against a private one",
    },
  },
  'packages/fastify-adapter/README.md › Moving to Redis › ts 2': {
    glue: `import { RedisStore } from 'connect-redis'
import { FileStore } from 'fastify-file-session-store'
import { createClient } from 'redis'
const client = createClient()
`,
  },
  // The app being moved to this store, before and after: it had session-file-store.
  'packages/express-adapter/README.md › Usage › ts 1': { run: 'serve', views: true },
  'packages/express-adapter/README.md › Migrating from session-file-store › js 1': {
    glue: EXPRESS_APP,
  },
  'packages/express-adapter/README.md › Migrating from session-file-store › js 2': {
    glue: EXPRESS_APP,
  },
}
/** What the migrating app of the Express README already has installed. */
const ALREADY_INSTALLED = ['session-file-store@^1.5.0', '@types/session-file-store']

const SHELLS: Record<string, Shell> = {
  'packages/core/README.md › Encryption at rest › sh 1': {
    run: 'script',
    stdout: /^[\w+/]{43}=\n$/,
  },
  'packages/core/README.md › Command line › sh 1': { run: 'script', stdout: /^entries: +2$/m },
  'packages/core/README.md › Command line › sh 2': { run: 'synopsis' },
  'packages/core/README.md › Command line › sh 3': {
    run: 'script',
    stdout: /^a\nremoved 1 entry\n$/,
  },
  'packages/core/README.md › Pruning on a schedule › sh 1': {
    run: 'crontab',
    stdout: /^pruned 1 expired entry, 0 stale temp files, 0 quarantined files\n$/,
  },
  'packages/fastify-adapter/README.md › Moving to Redis › sh 2': { run: 'redis' },
  'packages/core/README.md › GlusterFS (tested) › sh 1': {
    run: { notRun: 'it mounts a GlusterFS volume as root; gluster.test.ts runs the recipe' },
  },
  'packages/fastify-adapter/README.md › Migrating from @itrocks/fastify-file-session-store › sh 1':
    { run: 'script', stdout: /^migrated 1, superseded 0, expired 0, moved aside 0\n$/ },
}
/**
 * The synopsis's placeholders, as a reader fills them in; each line runs without its optional
 * parts, then with all of them, on a fresh directory; with keys, which encrypt and decrypt need.
 */
const PLACEHOLDERS: [RegExp, string][] = [
  [/<dir>/g, 'sessions'],
  [/<key>(\.\.\.)?/g, 'a'],
  [/<path>=<value>(\.\.\.)?/g, 'user.id=42'],
  [/<file>/g, 'export.ndjson'],
  [/<ms>/g, '86400000'],
  [/<time>/g, new Date().toISOString()],
]

/** The fenced blocks of a README, named by the heading above them. */
function blocksOf(readme: string): Block[] {
  const lines = fs.readFileSync(path.join(rootDirectory, readme), 'utf8').split('\n')
  const blocks: Block[] = []
  const counts = new Map<string, number>()
  let heading = ''
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)```(\w*)\s*$/.exec(lines[i] as string)
    if (!fence) {
      heading = /^#+ (.*)$/.exec(lines[i] as string)?.[1] ?? heading
      continue
    }
    const [, indent = '', lang = ''] = fence
    const code: string[] = []
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i] as string); i++) {
      code.push((lines[i] as string).slice(indent.length))
    }
    const counter = `${heading} › ${lang}`
    const n = (counts.get(counter) ?? 0) + 1
    counts.set(counter, n)
    const name = `${readme} › ${heading} › ${lang} ${n}`
    blocks.push({ name, readme, lang, code: `${code.join('\n')}\n` })
  }
  return blocks
}

const blocks = READMES.flatMap(blocksOf)
const isScript = ({ lang }: Block) => /^(ts|typescript|js|javascript)$/.test(lang)
const isShell = ({ lang }: Block) => /^(sh|bash|shell|console)$/.test(lang)
for (const block of blocks) {
  if (isScript(block) && !/^(ts|js)$/.test(block.lang)) {
    throw new Error(`${block.name}: say ts or js, which this test knows how to run`)
  }
}
const scripts = blocks.filter(isScript)
/** Install lines are what the app is made of: they are run by the setup, once for all. */
const isInstall = ({ code }: Block) =>
  code.split('\n').every((line) => /^(npm i(nstall)? .*|\s*|#.*)$/.test(line))
// The root README's shell blocks work on the repository (set-up, tests, the demo), which CI
// runs; the rest (ini, diff, a tree) are not programs.
const shells = blocks.filter(
  (block) => isShell(block) && block.readme !== 'README.md' && !isInstall(block),
)

/** The environment without the npm_* variables a `pnpm test` run sets, which npm would read. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)))
}

let work: string
let app: string
let installOutput: string
/** tsc's errors, by file of the app. */
const typeErrors = new Map<string, string[]>()
const fileOf = new Map<string, string>()
const packedFiles = new Map<string, string[]>()

beforeAll(() => {
  work = makeTempDirectory('readme')
  app = path.join(work, 'app')
  fs.mkdirSync(app)
  const tarballs = Object.fromEntries(
    Object.entries(PACKAGES).map(([name, directory]) => [name, pack(name, directory)]),
  )
  const specs = new Map<string, string>()
  for (const spec of [...installSpecs(), ...ALREADY_INSTALLED]) {
    const name = spec.replace(/(.)@.*$/, '$1')
    specs.set(name, tarballs[name] ?? spec)
  }
  execFileSync('npm', ['init', '-y'], { cwd: app, env: cleanEnvironment(), stdio: 'pipe' })
  const installed = spawnSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel', 'warn', ...specs.values()],
    { cwd: app, env: cleanEnvironment(), encoding: 'utf8' },
  )
  installOutput = `${installed.stdout}${installed.stderr}`
  if (installed.status !== 0) throw new Error(`npm install failed:\n${installOutput}`)

  const examples = path.join(app, 'examples')
  fs.mkdirSync(examples)
  scripts.forEach((block, i) => {
    const example = EXAMPLES[block.name] ?? {}
    const extension = block.lang === 'js' ? '.js' : example.module === 'esm' ? '.mts' : '.ts'
    const file = `example${i + 1}${extension}`
    fileOf.set(block.name, file)
    fs.writeFileSync(path.join(examples, file), `${example.glue ?? ''}${block.code}`)
  })
  // Strict, as a new TypeScript project is; Node's module system, which tells ESM from CJS by
  // the file's extension and the app's package.json. JavaScript blocks are checked too.
  const tsconfig = {
    compilerOptions: {
      strict: true,
      module: 'nodenext',
      target: 'es2022',
      skipLibCheck: true,
      allowJs: true,
      checkJs: true,
      rootDir: 'examples',
      outDir: 'dist',
    },
    include: ['examples'],
  }
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(tsconfig))
  const compiled = spawnSync(process.execPath, [tsc, '-p', '.', '--pretty', 'false'], {
    cwd: app,
    encoding: 'utf8',
  })
  // An error of no block's file (the configuration, a crash) is one of every block's.
  for (const line of `${compiled.stdout}\n${compiled.stderr}`.split('\n').filter(Boolean)) {
    const file = /^examples\/([^(]+)\(/.exec(line)?.[1] ?? '(other)'
    typeErrors.set(file, [...(typeErrors.get(file) ?? []), line])
  }
}, SETUP_TIMEOUT)

afterAll(() => {
  if (work) removeDirectory(work)
})

/** `pnpm pack` of a package's build; its tarball's path, and the list of the files it holds. */
function pack(name: string, directory: string): string {
  const source = path.join(rootDirectory, directory)
  if (!fs.existsSync(path.join(source, 'dist', 'index.js'))) {
    throw new Error(`${directory}/dist is missing: run \`pnpm build\` first`)
  }
  const destination = path.join(work, name)
  fs.mkdirSync(destination)
  execFileSync('pnpm', ['pack', '--pack-destination', destination], {
    cwd: source,
    env: cleanEnvironment(),
    stdio: 'pipe',
  })
  const tarball = path.join(destination, fs.readdirSync(destination)[0] as string)
  const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
  packedFiles.set(name, listing.split('\n').filter(Boolean))
  return tarball
}

/** What the READMEs' `npm i` lines install, in order (a later spec of a package wins). */
function installSpecs(): string[] {
  return blocks
    .filter((block) => isShell(block) && block.readme !== 'README.md')
    .flatMap(({ code }) => code.split('\n'))
    .filter((line) => /^npm i(nstall)? /.test(line))
    .flatMap((line) => line.replace(/#.*/, '').trim().split(/\s+/).slice(2))
    .filter((argument) => !argument.startsWith('-'))
}

test('one npm install of what the READMEs say installs, warning only of what they say', () => {
  expect(installOutput).not.toMatch(/ERESOLVE|peer dep/i)
  // The Fastify README says which package warns of its engine on Node 20, and why it is fine.
  const engines = [...installOutput.matchAll(/EBADENGINE +package: '([^']+)'/g)]
  const warned = engines.map(([, spec]) => spec as string)
  const fastifyReadme = fs.readFileSync(
    path.join(rootDirectory, PACKAGES['fastify-file-session-store'] as string, 'README.md'),
    'utf8',
  )
  for (const spec of warned)
    expect(fastifyReadme).toContain(`EBADENGINE ${spec.replace(/\.\d+\.\d+$/, '')}`)
  if (!process.versions.node.startsWith('20.')) expect(warned).toEqual([])
  expect(typeErrors.get('(other)')).toBeUndefined()
  // And the setup found the blocks it is meant to find.
  expect(scripts.length).toBeGreaterThanOrEqual(10)
  for (const name of [...Object.keys(EXAMPLES), ...Object.keys(SHELLS)]) {
    expect(blocks.map((block) => block.name)).toContain(name)
  }
})

test.each(scripts.map((block) => [block.name, block] as const))(
  '%s type-checks and runs as written',
  async (name) => {
    const file = fileOf.get(name) as string
    expect([...(typeErrors.get(file) ?? []), ...(typeErrors.get('(other)') ?? [])]).toEqual([])
    const example = EXAMPLES[name] ?? {}
    const run = example.run ?? 'exit'
    if (typeof run === 'object')
      return console.log(`${name}: type-checked only, ${run.typeCheckOnly}`)
    const built = path.join(app, 'dist', file.replace(/\.ts$/, '.js').replace(/\.mts$/, '.mjs'))
    const cwd = fs.mkdtempSync(path.join(work, 'run-'))
    const env = { ...cleanEnvironment(), ...example.env }
    if (run === 'serve') return serve(built, cwd, env, example.views === true)
    const result = spawnSync(process.execPath, [built], {
      cwd,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect({ status: result.status, stderr: warnings(result.stderr) }).toEqual({
      status: 0,
      stderr: '',
    })
    if (example.stdout) expect(result.stdout).toMatch(example.stdout)
  },
)

/**
 * What a block printed on stderr, but for Node's own deprecation warnings about dependencies,
 * which depend on Node's version and say nothing of the README. A library's own warnings
 * (express-session's `deprecated undefined resave option`) stay.
 */
function warnings(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !/^\(node:\d+\) \[DEP\d+\]|^\(Use `node --trace-deprecation/.test(line))
    .join('\n')
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts a server block on a free port and asks it for `/` (twice with the cookie it gives,
 * when it counts `views`), then stops it. The port was free a moment before the server binds
 * it: should another process take it meanwhile, the server is started again on another.
 */
async function serve(
  file: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  views: boolean,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const child = spawn(process.execPath, [file], {
      cwd,
      env: { ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()))
    child.stdout?.resume()
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    try {
      const first = await firstResponse(`http://127.0.0.1:${port}/`, exited)
      if (first === undefined) {
        if (attempt < 3 && stderr.includes('EADDRINUSE')) continue
        throw new Error(`the server exited before answering:\n${stderr}`)
      }
      expect(first.status).toBeLessThan(500)
      if (views) {
        expect(await first.json()).toEqual({ views: 1 })
        const cookie = (first.headers.getSetCookie()[0] ?? '').split(';')[0] as string
        expect(cookie).toMatch(/^sessionId=|^connect\.sid=/)
        const second = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie } })
        expect(await second.json()).toEqual({ views: 2 })
        expect(fs.readdirSync(path.join(cwd, 'sessions'))).toHaveLength(1)
      }
      expect(warnings(stderr)).toBe('')
      return
    } finally {
      await stop(child, exited)
    }
  }
}

/** The first answer of a server starting up, or `undefined` when it exits first. */
async function firstResponse(
  url: string,
  exited: Promise<number | null>,
): Promise<Response | undefined> {
  let gone = false
  exited.then(() => (gone = true))
  const deadline = Date.now() + 60_000
  while (!gone && Date.now() < deadline) {
    try {
      return await fetch(url)
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  if (gone) return undefined
  throw new Error(`${url} did not answer within a minute`)
}

async function stop(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill()
  await exited
}

/**
 * The app's `sessions`, as the shell examples expect one: a's and b's sessions (a is user 42's),
 * an expired one, and a session file of @itrocks/fastify-file-session-store 0.3; and an export.
 */
async function prepareSessions(): Promise<void> {
  const directory = path.join(app, 'sessions')
  fs.rmSync(directory, { recursive: true, force: true })
  const sessions = new JsonFileRepository(directory, { fsync: false })
  const cookie = { originalMaxAge: null, expires: null }
  await sessions.set('a', { cookie, user: { id: 42 } })
  await sessions.set('b', { cookie, user: { id: 7 } })
  await sessions.set('gone', { cookie, user: { id: 42 } })
  const mtime = expiryToMtime(Date.now() - 60_000)
  fs.utimesSync(sessions.path('gone'), mtime, mtime)
  await sessions.close()
  const legacy = { cookie: { expires: null, path: '/' }, user: { id: 5 } }
  fs.writeFileSync(path.join(directory, 'Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp'), JSON.stringify(legacy))
  const line = { key: 'c', value: { cookie, user: { id: 9 } }, expiresAt: null }
  fs.writeFileSync(path.join(app, 'export.ndjson'), `${JSON.stringify(line)}\n`)
}

/** Runs a script with bash in the app, as a reader pastes it there; its standard output. */
function bash(script: string, env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync('bash', ['-o', 'pipefail', '-e', '-c', script], {
    cwd: app,
    encoding: 'utf8',
    input: '',
    env: {
      ...cleanEnvironment(),
      // What `npm exec` does: the app's own commands first.
      PATH: `${path.join(app, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
      ...env,
    },
  })
  if (result.status !== 0) {
    throw new Error(`exit code ${result.status}:\n${script}\n${result.stdout}${result.stderr}`)
  }
  return result.stdout
}

test('every shell block that works on an app is run, or says why not', () => {
  const unplanned = shells.filter((block) => !Object.hasOwn(SHELLS, block.name))
  expect(unplanned.map((block) => block.name)).toEqual([])
})

test.each(shells.map((block) => [block.name, block] as const))(
  '%s runs as written',
  async (name, block) => {
    const shell = SHELLS[name] as Shell
    const code = block.code.replaceAll('/srv/app', app)
    if (typeof shell.run === 'object') return console.log(`${name}: not run, ${shell.run.notRun}`)
    if (shell.run === 'synopsis') {
      for (const line of code.split('\n').filter(Boolean)) {
        const filled = PLACEHOLDERS.reduce((text, [from, to]) => text.replace(from, to), line)
        for (const variant of [filled.replace(/ \[[^\]]*\]/g, ''), filled.replace(/[[\]]/g, '')]) {
          await prepareSessions()
          // Given keys, the other commands read encrypted entries only: these sessions are plain.
          bash(variant, /crypt /.test(variant) ? { JSON_FILE_REPOSITORY_KEY: KEY } : {})
        }
      }
      return
    }
    await prepareSessions()
    if (shell.run === 'crontab') {
      const commands = code
        .split('\n')
        .map((line) => /^([^#\s]\S* ){5}(.*)$/.exec(line)?.[2])
        .filter((command) => command !== undefined)
      expect(commands).toHaveLength(1)
      expect(bash(commands.join('\n'))).toMatch(shell.stdout as RegExp)
      return
    }
    if (shell.run === 'redis') return redis(code)
    expect(bash(code)).toMatch(shell.stdout as RegExp)
  },
)

/** The `export-redis | redis-cli --pipe` block, into a redis-server of the test's own. */
async function redis(code: string): Promise<void> {
  const missing = spawnSync('redis-cli', ['--version']).status !== 0 ? 'redis-cli' : undefined
  const server = missing ? undefined : await startRedis()
  if (!server) {
    const what = missing ?? 'redis-server'
    return console.log(
      `Skipped the export-redis example: ${what} is not installed or did not start`,
    )
  }
  try {
    const url = `redis://127.0.0.1:${server.port}`
    expect(code).toContain('redis://127.0.0.1:6379')
    const output = bash(code.replaceAll('redis://127.0.0.1:6379', url))
    // a and b, and the 0.3 session FileStore would still convert ("gone" has expired).
    expect(output).toMatch(/errors: 0, replies: 3$/m)
    const keys = execFileSync('redis-cli', ['-u', url, '--raw', 'keys', 'sess:*'], {
      encoding: 'utf8',
    })
    expect(keys.split('\n').filter(Boolean).sort()).toEqual([
      'sess:Kx3vQ9_mZ2-aB7cD1eF4gH6iJ8kL0nOp',
      'sess:a',
      'sess:b',
    ])
  } finally {
    await server.stop()
  }
}

/** GitHub's anchor of a heading. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

function anchors(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '')
  return [...text.matchAll(/^#+ (.*)$/gm)].map(([, heading]) => slug(heading as string))
}

test.each(Object.entries(PACKAGES))(
  "every link of %s's README resolves from the published package",
  (name, directory) => {
    const readme = path.join(rootDirectory, directory, 'README.md')
    const text = fs.readFileSync(readme, 'utf8').replace(/```[\s\S]*?```/g, '')
    const broken: string[] = []
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const [url = '', anchor] = (target as string).split('#')
      let file: string
      if (url === '') file = readme
      else if (url.startsWith(REPOSITORY_URL))
        file = path.join(rootDirectory, url.slice(REPOSITORY_URL.length))
      else if (/^https?:/.test(url)) continue
      else {
        // Relative: it must be in the tarball.
        if (!packedFiles.get(name)?.includes(`package/${url}`)) broken.push(target as string)
        continue
      }
      if (!fs.existsSync(file)) broken.push(target as string)
      else if (anchor && file.endsWith('.md') && !anchors(file).includes(anchor)) {
        broken.push(target as string)
      }
    }
    expect(broken).toEqual([])
  },
)

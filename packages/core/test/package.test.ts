/**
 * The package as npm users get it: built, packed with `pnpm pack`, installed with npm into a
 * fresh project, then loaded with `require`, with ESM `import`, and type-checked.
 *
 * It builds into a staging copy of the package (its package.json and README, and `dist` from
 * tsconfig.build.json) rather than over packages/core/dist, which other test files run in
 * child processes at the same time.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { makeTempDirectory, packageDirectory, readmeSnippet, removeDirectory } from './helpers'

const rootDirectory = path.resolve(packageDirectory, '..', '..')
const tsc = path.join(rootDirectory, 'node_modules', 'typescript', 'bin', 'tsc')

let directory: string
beforeAll(() => {
  directory = makeTempDirectory('package')
})
afterAll(() => removeDirectory(directory))

/** The environment without the npm_* variables a `pnpm test` run sets, which npm would read. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)))
}

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: cleanEnvironment(),
    stdio: 'pipe',
  })
}

test('the packed package installs with npm and works from require, import and TypeScript', () => {
  const staging = path.join(directory, 'staging')
  fs.mkdirSync(staging)
  for (const name of ['package.json', 'README.md']) {
    fs.copyFileSync(path.join(packageDirectory, name), path.join(staging, name))
  }
  run(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(staging, 'dist')],
    packageDirectory,
  )
  run('pnpm', ['pack', '--pack-destination', directory], staging)
  const [tarball] = fs.readdirSync(directory).filter((name) => name.endsWith('.tgz'))
  expect(tarball).toMatch(/^json-file-repository-\d+\.\d+\.\d+.*\.tgz$/)
  const tarballPath = path.join(directory, tarball as string)

  const packed = run('tar', ['-tzf', tarballPath], directory).trim().split('\n')
  expect(packed).toEqual(
    expect.arrayContaining([
      'package/package.json',
      'package/README.md',
      'package/dist/index.js',
      'package/dist/index.d.ts',
    ]),
  )
  expect(
    packed.filter((name) => !/^package\/(package\.json|README\.md|dist\/.+)$/.test(name)),
  ).toEqual([])

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
  fs.writeFileSync(path.join(project, 'readme.mts'), readmeSnippet())
  fs.writeFileSync(
    path.join(project, 'wrong.ts'),
    `import { JsonFileRepository } from 'json-file-repository'
    export const wrong: Promise<string> = new JsonFileRepository<{ a: number }>('x').get('1')
    `,
  )
  const typeCheck = (...files: string[]) =>
    run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--strict',
        '--target',
        'es2022',
        ...files,
      ],
      project,
    )
  expect(typeCheck('check.ts', 'readme.mts')).toBe('')
  let wrongOutput = ''
  try {
    typeCheck('wrong.ts')
  } catch (error) {
    wrongOutput = String((error as { stdout?: string }).stdout)
  }
  expect(wrongOutput).toMatch(/wrong\.ts\(2,\d+\): error TS2322/)
}, 180_000)

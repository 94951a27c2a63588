/**
 * Runs the usage snippet of the README, as it is written there (the first ```ts block).
 * The packaging test type-checks the same snippet against the published declarations.
 */
import fs from 'node:fs'
import path from 'node:path'
import * as repositoryModule from 'json-file-repository'
import ts from 'typescript'
import { makeTempDirectory, readmeSnippet, removeDirectory } from './helpers'

const AsyncFunction = (async () => {}).constructor as new (
  ...args: string[]
) => (...args: unknown[]) => Promise<void>

test('the usage snippet of the README runs and prints what its comments say', async () => {
  const snippet = readmeSnippet()
  // CommonJS with top-level await, run as the body of an async function.
  const { outputText } = ts.transpileModule(snippet, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  })
  const logged: unknown[][] = []
  const fakeConsole = { log: (...args: unknown[]) => logged.push(args) }
  const load = (name: string) => {
    if (name !== 'json-file-repository') throw new Error(`the snippet requires ${name}`)
    return repositoryModule
  }
  const directory = makeTempDirectory('readme')
  const cwd = process.cwd()
  process.chdir(directory)
  try {
    await new AsyncFunction('require', 'exports', 'console', outputText)(load, {}, fakeConsole)
  } finally {
    process.chdir(cwd)
  }
  expect(logged[0]).toEqual([{ name: 'Ada', roles: ['admin'] }])
  expect(logged.slice(1).sort()).toEqual([
    ['42', 'Ada'],
    ['guest', 'Guest'],
  ])
  const file = path.join(directory, 'data', 'users', '42.json')
  expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ name: 'Ada', roles: ['admin'] })
  expect(fs.statSync(file).mode & 0o777).toBe(0o600)
  expect(fs.readdirSync(path.dirname(file))).toEqual(['42.json'])
  removeDirectory(directory)
})

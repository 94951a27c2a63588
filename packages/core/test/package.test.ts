/**
 * The core as npm users get it (see the test helpers' packing.ts): packed, checked as a registry
 * would see it, installed with npm into a fresh project, loaded with `require`, with ESM
 * `import`, and type-checked.
 */
import fs from 'node:fs'
import path from 'node:path'
import {
  describePublished,
  PACKING_TIMEOUT,
  packed,
  run,
  typeCheck,
  typeErrors,
} from '@json-file-repository/test-helpers'

const packedPackage = packed('json-file-repository')

describePublished('json-file-repository', packedPackage)

test(
  'the packed core installs with npm and works from require, import and TypeScript',
  () => {
    const tarballPath = packedPackage('json-file-repository').tarball
    const project = path.join(packedPackage.directory(), 'project')
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
  PACKING_TIMEOUT,
)

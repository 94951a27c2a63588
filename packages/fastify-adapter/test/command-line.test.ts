/**
 * The package's command line (`fastify-file-session-store`) as a user meets it, through its build
 * in a child process: what it says about itself. `export-redis` is tested for real by
 * redis-move.test.ts.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const cli = path.join(__dirname, '../dist/cli.js')

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr })
    })
  })
}

test('--version and -v print the version of the package, as the core command line does', async () => {
  const manifest = path.join(__dirname, '../package.json')
  const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8'))
  for (const flag of ['--version', '-v']) {
    expect(await run(flag)).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' })
  }
  const help = await run('--help')
  expect(help).toMatchObject({ code: 0, stderr: '' })
  expect(help.stdout).toMatch(/^\s+-v, --version +show the version$/m)
})

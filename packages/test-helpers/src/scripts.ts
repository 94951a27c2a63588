import { execFile } from 'node:child_process'

/** What a script run by {@link runScript} did. */
export interface ScriptResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs a Node.js script (a command line) in a child process with `env` added to this one's, and
 * resolves to its exit code and output: it never rejects, so that failures can be asserted on.
 */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const options = { env: { ...process.env, ...env } }
    execFile(process.execPath, [script, ...args], options, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr })
    })
  })
}

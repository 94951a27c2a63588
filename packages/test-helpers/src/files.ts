import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** A fresh directory under the system temp directory. */
export function makeTempDirectory(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `jfr-${prefix}-`))
}

export function removeDirectory(directory: string): void {
  fs.rmSync(directory, { recursive: true, force: true })
}

/** The names in a directory, sorted; none when it does not exist. */
export function listNames(directory: string): string[] {
  return fs.existsSync(directory) ? fs.readdirSync(directory).sort() : []
}

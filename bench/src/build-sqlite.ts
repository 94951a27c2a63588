/**
 * Builds better-sqlite3 (a native module, used only by the benchmark) on the first `pnpm bench`.
 * `pnpm install` skips its build (`allowBuilds` in pnpm-workspace.yaml), which would otherwise
 * print a screen of node-gyp errors on every machine that cannot download Node's headers, for
 * a module nothing but the benchmark needs. Never fails: the benchmark leaves out what it
 * cannot load, saying so.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/** Whether better-sqlite3 (an optional dependency with a native build) loads here. */
export function sqliteLoads(): boolean {
  try {
    const Database = require('better-sqlite3') as typeof import('better-sqlite3')
    new Database(':memory:').close()
    return true
  } catch {
    return false
  }
}

// Run as `node bench/dist/build-sqlite.js` (by `pnpm bench`), not when imported.
if (require.main === module && !sqliteLoads()) {
  const env = { ...process.env }
  // The headers installed beside this node (Debian's /usr/include/node, official tarballs'
  // include/node), rather than a download from nodejs.org that may be out of reach.
  const prefix = path.resolve(path.dirname(process.execPath), '..')
  if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node.h'))) {
    env.npm_config_nodedir = prefix
  }
  console.log('Building better-sqlite3 for the benchmark (once, a minute or two)…')
  // A named rebuild builds that package only; the flag lifts allowBuilds' `false` for it.
  spawnSync('pnpm', ['rebuild', 'better-sqlite3', '--config.dangerously-allow-all-builds=true'], {
    cwd: path.resolve(__dirname, '..'),
    env,
    stdio: 'inherit',
  })
}

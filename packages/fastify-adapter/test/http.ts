import path from 'node:path'
import { startServer as startChildServer } from '@json-file-repository/test-helpers'

export { HttpBrowser, stopper } from '@json-file-repository/test-helpers'

/**
 * Starts `fixtures/server.js` (or `server`, a script with the same arguments and output) on
 * `directory` in its own process, with FileStore `options`; resolves to its base URL.
 */
export function startServer(
  directory: string,
  options: object = {},
  server = path.join(__dirname, 'fixtures/server.js'),
): ReturnType<typeof startChildServer> {
  return startChildServer(server, directory, options)
}

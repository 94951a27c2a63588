import { type Command, print } from './command'

export const migrate: Command = {
  usage: 'migrate <dir> [--ttl <ms>]',
  summary: 'convert the session files of @itrocks/fastify-file-session-store 0.3',
  help: `Converts every session file that @itrocks/fastify-file-session-store 0.3 left in <dir>
(named <id>, with no extension) into <id>.json, the format of fastify-file-session-store, with
its expiry taken from its cookie.expires, or --ttl ms (default 86400000, FileStore's default
ttl) after it was last written when it has none. An expired session is removed, a file that
holds no session object is moved aside, and a file whose session already has an <id>.json is
removed (the .json file is newer). Running it again does nothing; servers of
fastify-file-session-store may keep running meanwhile (they convert the files they meet the
same way). Prints how many files went each way.`,
  options: {},
  legacy: true,
  writes: () => true,
  args: [0, 0],
  async run(repository) {
    const { migrated, superseded, expired, corrupt } = await repository.migrate()
    await print(
      `migrated ${migrated}, superseded ${superseded}, expired ${expired}, moved aside ${corrupt}`,
    )
  },
}

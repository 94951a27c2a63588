// Compiled by `pnpm typecheck`: code written against @itrocks/fastify-file-session-store 0.3.0's
// published .d.ts (its public members, and list() and revoke() as @itrocks/session's
// ManageableSessionStore uses them) compiles against FileStore.
import type { SessionStore } from '@fastify/session'
import type { FileStore as LegacyFileStore } from '@itrocks/fastify-file-session-store'
import { FileStore } from 'fastify-file-session-store'

/** 0.3.0's public surface (a class's private members make it nominal, so they are left out). */
type LegacySurface = Pick<LegacyFileStore, keyof LegacyFileStore>
/** What @itrocks/session's `ManageableSessionStore` asks of 0.3.0. */
type ManageableSessionStore = Pick<LegacyFileStore, 'list' | 'revoke'>
type StoredSession = Awaited<ReturnType<LegacyFileStore['list']>>[number]

export const surface: LegacySurface = new FileStore('./sessions')
export const manageable: ManageableSessionStore = new FileStore('./sessions')
export const store: SessionStore & ManageableSessionStore = new FileStore('./sessions')

export async function administer(sessions: LegacySurface): Promise<string[]> {
  const directory: string = sessions.directory
  const file: string = sessions.sessionFile('id')
  const listed: StoredSession[] = await sessions.list()
  const stale = listed.filter((session) => session.updatedAt.getTime() < Date.now() - 86_400_000)
  for (const session of stale) await sessions.revoke(session.id)
  sessions.get('id', (_error, session) => session?.cookie)
  sessions.set('id', listed[0]?.data as never, () => {})
  sessions.destroy('id', () => {})
  return [directory, file]
}
export const administered = administer(new FileStore('./sessions'))

/**
 * Compiled by `pnpm typecheck` (never run): the public types say what the API does.
 * Each `@ts-expect-error` fails the type-check if the line after it ever compiles.
 */
import {
  type CacheOptions,
  JsonFileRepository,
  JsonFileRepositoryError,
  type JsonFileRepositoryErrorCode,
  type JsonFileRepositoryOptions,
  type Logger,
  type RepositoryEntry,
  type RepositoryStats,
  type SetOptions,
} from 'json-file-repository'

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false
function expectType<T extends true>(_: T) {}

interface User {
  a: number
}
const users = new JsonFileRepository<User>('users')

expectType<Equal<ReturnType<typeof users.get>, Promise<User | undefined>>>(true)
expectType<Equal<ReturnType<typeof users.getEntry>, Promise<RepositoryEntry<User> | undefined>>>(
  true,
)
expectType<Equal<ReturnType<typeof users.has>, Promise<boolean>>>(true)
expectType<Equal<ReturnType<typeof users.set>, Promise<boolean>>>(true)
expectType<Equal<ReturnType<typeof users.delete>, Promise<boolean>>>(true)
expectType<Equal<ReturnType<typeof users.touch>, Promise<boolean>>>(true)
expectType<Equal<ReturnType<typeof users.clear>, Promise<number>>>(true)
expectType<Equal<ReturnType<typeof users.prune>, Promise<number>>>(true)
expectType<Equal<ReturnType<typeof users.stats>, RepositoryStats>>(true)
expectType<Equal<ReturnType<typeof users.path>, string>>(true)
expectType<Equal<typeof users.directory, string>>(true)
expectType<Equal<ReturnType<typeof users.keys>, AsyncIterableIterator<string>>>(true)
expectType<Equal<ReturnType<typeof users.entries>, AsyncIterableIterator<[string, User]>>>(true)
expectType<Equal<RepositoryEntry<User>['expiresAt'], number | undefined>>(true)

async function use() {
  await users.set('1', { a: 1 })
  await users.set('1', { a: 1 }, { expiresAt: Date.now() + 1000 })
  await users.set('1', { a: 1 }, { expiresAt: new Date() })
  await users.touch('1', undefined)
  // @ts-expect-error: a value of the wrong type
  await users.set('1', { a: 'one' })
  // @ts-expect-error: a missing property
  await users.set('1', {})
  // @ts-expect-error: the expiry is a number or a Date
  await users.set('1', { a: 1 }, { expiresAt: '2030-01-01' })
  // @ts-expect-error: keys are strings
  await users.get(1)
  for await (const [key, user] of users) {
    expectType<Equal<typeof key, string>>(true)
    expectType<Equal<typeof user, User>>(true)
  }
  const value = await users.get('1')
  // @ts-expect-error: get() may miss
  value.a
  if (value) expectType<Equal<typeof value.a, number>>(true)
}

// Without a type argument the values are unknown, not any.
const untyped = new JsonFileRepository('untyped')
expectType<Equal<ReturnType<typeof untyped.get>, Promise<unknown>>>(true)

const options: JsonFileRepositoryOptions = {
  cache: { maxEntries: 10, maxBytes: 1024 } satisfies CacheOptions,
  fsync: false,
  fileMode: 0o600,
  directoryMode: 0o700,
  pruneInterval: 60_000,
  touchAfter: 1000,
  logger: console satisfies Logger,
}
new JsonFileRepository('x', options)
new JsonFileRepository('x', { cache: false })
// @ts-expect-error: an unknown option
new JsonFileRepository('x', { sync: true })
// @ts-expect-error: fsync is a boolean
new JsonFileRepository('x', { fsync: 'yes' })

const setOptions: SetOptions = { expiresAt: 0 }
const code: JsonFileRepositoryErrorCode = 'ERR_IO'
// @ts-expect-error: not a code
const wrongCode: JsonFileRepositoryErrorCode = 'ENOENT'

function handle(error: unknown) {
  if (error instanceof JsonFileRepositoryError) {
    expectType<Equal<typeof error.code, JsonFileRepositoryErrorCode>>(true)
    expectType<Equal<typeof error.key, string | undefined>>(true)
  }
}

export { code, handle, setOptions, use, wrongCode }

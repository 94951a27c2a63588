import { JsonFileRepository, type JsonFileRepositoryOptions } from 'json-file-repository'
import { describeRepository } from './repository.contract'

const configurations: [string, JsonFileRepositoryOptions][] = [
  ['default: cache on, fsync on', {}],
  ['cache off', { cache: false }],
  ['tiny cache of 2 entries', { cache: { maxEntries: 2 } }],
  ['fsync off', { fsync: false }],
  ['cache off, fsync off', { cache: false, fsync: false }],
]

for (const [name, configuration] of configurations) {
  describeRepository(
    name,
    (directory, options) => new JsonFileRepository(directory, { ...configuration, ...options }),
    { cache: configuration.cache !== false },
  )
}

describe('JsonFileRepository constructor', () => {
  test('a directory that is not a non-empty string throws a TypeError naming `directory`', () => {
    expect(() => new JsonFileRepository('')).toThrow(TypeError)
    expect(() => new JsonFileRepository('')).toThrow('`directory`')
    expect(() => new JsonFileRepository(42 as unknown as string)).toThrow('`directory`')
  })

  test('options that are not an object throw a TypeError naming `options`', () => {
    const create = () =>
      new JsonFileRepository('unused', null as unknown as JsonFileRepositoryOptions)
    expect(create).toThrow(TypeError)
    expect(create).toThrow('`options`')
  })
})

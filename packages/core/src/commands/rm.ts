import { isDeepStrictEqual } from 'node:util'
import { type Command, count, keyField, openRepository, print, UsageError } from './command'

export const rm: Command = {
  usage: 'rm <dir> (<key>... | --where <path>=<value>... [--dry-run])',
  summary: 'remove entries by key, or by a value inside them',
  help: `Removes the given keys, or every entry whose value at the dotted <path> equals
<value> (as a string, or as JSON when <value> parses as JSON: --where user.id=42 matches
42 and "42"; several --where must all match). Prints how many entries were removed, and
changes no other file; --dry-run prints the matching keys instead and changes nothing.
Servers see the removal on their next request. Put -- before keys that start with a dash.`,
  options: { where: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' } },
  args: [0, Number.POSITIVE_INFINITY],
  writes: (values) => values['dry-run'] !== true,
  async run(repository, keys, values, encryption) {
    const where = (values.where as string[] | undefined) ?? []
    if ((keys.length === 0) === (where.length === 0)) {
      throw new UsageError('give either keys or --where <path>=<value>')
    }
    const dryRun = values['dry-run'] === true
    let removed = 0
    const remove = async (key: string) => {
      if (dryRun) await print(keyField(key))
      else if (await repository.delete(key)) removed++
    }
    if (keys.length > 0) {
      // Every key is checked before any file is removed.
      for (const key of keys) repository.path(key)
      for (const key of keys) if (!dryRun || (await repository.has(key))) await remove(key)
    } else {
      const conditions = where.map(parseCondition)
      // Walked read-only, so that only the matches are removed: not the expired files met.
      const reader = dryRun
        ? repository
        : openRepository(
            repository.directory,
            false,
            undefined,
            encryption,
            values['allow-shared-directory'] === true,
          )
      try {
        for await (const [key, value] of reader.entries()) {
          if (conditions.every(([at, expected]) => matches(valueAt(value, at), expected))) {
            await remove(key)
          }
        }
      } finally {
        if (reader !== repository) await reader.close()
      }
    }
    if (!dryRun) await print(`removed ${count(removed, 'entry', 'entries')}`)
  },
}

function parseCondition(condition: string): [string, string] {
  const at = condition.indexOf('=')
  if (at <= 0) throw new UsageError(`--where wants <path>=<value>, got "${condition}"`)
  return [condition.slice(0, at), condition.slice(at + 1)]
}

const MISSING = Symbol('missing')

/** The value at a dotted path (`user.id`, `roles.0`), own properties only. */
function valueAt(value: unknown, dotted: string): unknown {
  let current = value
  for (const part of dotted.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) {
      return MISSING
    }
    current = (current as Record<string, unknown>)[part]
  }
  return current
}

function matches(actual: unknown, expected: string): boolean {
  if (actual === MISSING) return false
  if ((actual === null || typeof actual !== 'object') && String(actual) === expected) return true
  try {
    return isDeepStrictEqual(actual, JSON.parse(expected))
  } catch {
    return false
  }
}

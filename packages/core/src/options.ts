import { inspect } from 'node:util'
import type { EncryptionOptions } from './encryption'
import { type Form, formsOf } from './format'
import type { LegacyFormat } from './types'

/** A pino-style logger: `app.log` of Fastify, `console` or pino itself all fit. */
export interface Logger {
  warn(object: object, message?: string): void
  error(object: object, message?: string): void
  /** Told once, at start-up, when the directory is on a network filesystem. */
  info?(object: object, message?: string): void
  debug?(object: object, message?: string): void
}

/** Bounds of the cache of serialized values. */
export interface CacheOptions {
  /**
   * Most entries kept.
   * @default 100_000
   */
  maxEntries?: number
  /**
   * Most bytes kept, counted as the heap bytes of each entry's JSON and key (one per character
   * for Latin-1 text, two otherwise, as V8 stores strings) plus 280 bytes of bookkeeping (at
   * least what the rest of an entry takes on the heap, as measured on Node 20): a bound of the
   * heap the cache uses. Keys are kept as copies of their own, never as slices of a longer
   * string (a cookie) that the cache would keep alive.
   * @default 67_108_864 (64 MiB)
   */
  maxBytes?: number
  /**
   * How fresh a cached read must be, in milliseconds. `0` checks the file's `lstat` on every
   * read: another process's write or delete is seen on the next `get`. A window `N` checks a
   * cached entry at most once per `N` ms: a change made elsewhere can go unseen for up to `N`
   * ms, never longer, and most reads need no syscall. `Infinity` never checks: for one process
   * per directory only, since a write, delete or revocation by any other process (the command
   * line included) is not seen while the entry stays cached.
   * @default 0
   */
  revalidateAfter?: number
}

/** Options of {@link JsonFileRepository}. */
export interface JsonFileRepositoryOptions {
  /**
   * Cache of serialized values, validated against the file's stat on every read (see
   * `revalidateAfter`), or `false` for none. Without a cache every `get` reads and parses the
   * file, and every `set` writes.
   * @default { maxEntries: 100_000, maxBytes: 67_108_864, revalidateAfter: 0 }
   */
  cache?: CacheOptions | false
  /**
   * Flush each write to disk before it becomes visible, so that a power loss leaves the old or
   * the new value, never an empty file. `false` saves the flush (how
   * much that gains depends on the disk) and stays atomic against crashes of the process, but
   * not against a power loss.
   * @default true
   */
  fsync?: boolean
  /**
   * Mode of the files written.
   * @default 0o600
   */
  fileMode?: number
  /**
   * Mode of the directory when the repository creates it.
   * @default 0o700
   */
  directoryMode?: number
  /**
   * Run `prune()` every so many milliseconds (not seconds) on a timer that does not keep the
   * process alive. `0` turns it off.
   * @default 0
   */
  pruneInterval?: number
  /**
   * When `set` stores the same value, or `touch` moves the expiry, forward by less than this
   * many milliseconds (not seconds; and by less than half of the remaining lifetime), it does
   * nothing at all instead of moving the file's expiry. `0` moves it on every change.
   * @default 0
   */
  touchAfter?: number
  /**
   * Where corrupt files and failed background prunes are reported; its `info`, if it has one,
   * is told once at start-up when the directory is on a network filesystem (NFS, FUSE such as
   * GlusterFS, CIFS/SMB, Ceph), with where the recipe for it is.
   * @default a logger that emits a process warning
   */
  logger?: Logger
  /**
   * Never change the directory, for tools that inspect one: it is not created, an expired
   * entry is a miss left in place, a corrupt file a miss left in place (and reported), and
   * `set`, `touch`, `delete`, `clear` and `prune` reject with `ERR_READ_ONLY`.
   * @default false
   */
  readOnly?: boolean
  /**
   * Largest file read, and largest value (as JSON, in bytes) written. A larger file is never
   * read into memory: a read of it is a miss and the file is moved aside as corrupt.
   * @default 16_777_216 (16 MiB)
   */
  maxFileSize?: number
  /**
   * Use a directory that other users can write, or that is not this process's user's, and read
   * files of any owner. By default the directory and each of its parents must be owned by this
   * process's user or by root and not be writable by group or others (unless sticky), and files
   * of other users are never read: another user who can write there could forge or remove
   * entries. Only for a directory shared on purpose (by a group of trusted users).
   * @default false
   */
  allowSharedDirectory?: boolean
  /**
   * Also read the files an earlier store named `<key>` (no extension, keys of the characters
   * `A-Z a-z 0-9 _ -` only), converting each with this format into a `<key>.json` entry the
   * first time it is met: by `get`, `delete`, `prune()`, a listing or `migrate()`. Not with
   * `readOnly`: converting writes the new file and removes the old one.
   * @default none: such files are foreign and left alone
   */
  legacyFiles?: LegacyFormat
  /**
   * Encrypt values at rest (AES-256-GCM) and name files by a keyed hash of their key
   * (HMAC-SHA-256), so that a copy of the directory reveals neither values nor keys. `keys`:
   * the current key first, then previous ones (rotation). See the README for the threat model,
   * key generation, rotation, and turning it on or off with `transition`.
   * @default none: plain JSON files named after their keys
   */
  encryption?: EncryptionOptions
}

export interface NormalizedOptions {
  cache: Required<CacheOptions> | false
  fsync: boolean
  fileMode: number
  directoryMode: number
  pruneInterval: number
  touchAfter: number
  logger: Logger
  readOnly: boolean
  maxFileSize: number
  allowSharedDirectory: boolean
  legacyFiles: LegacyFormat | undefined
  /** The form entries are written in, then the forms they are also read from. */
  forms: [Form, ...Form[]]
  /**
   * An unencrypted file, an entry's or a legacy one, is read only if its `ctime` is before
   * this: `Infinity` without encryption or while decrypting, `encryption.since` while
   * encrypting, and `-Infinity` (none) when encrypted (see `EncryptionOptions.transition`).
   */
  plainBefore: number
}

/** The default logger: each report is a process warning of type `type`. */
export function warningLogger(type: string): Logger {
  const warn = (object: object, message?: string) =>
    process.emitWarning(message ?? describe(object), type)
  return { warn, error: warn }
}

function describe(object: object): string {
  const error = (object as { err?: unknown }).err
  return error instanceof Error ? error.message : JSON.stringify(object)
}

/**
 * A value as error messages show it: on one line and short, with strings quoted so that `''`
 * is visible (`''`, `{}`, `[Function: warn]`, `undefined`).
 */
export function show(value: unknown): string {
  return inspect(value, { depth: 1, breakLength: Number.POSITIVE_INFINITY, maxArrayLength: 5 })
}

/**
 * Checks one option: every option of the repository and of the session layer is checked so.
 * @throws {TypeError} Unless `ok`, naming the option, what it must be and the value given, as
 *   {@link show} shows it.
 */
export function check(ok: boolean, name: string, expected: string, value: unknown): void {
  if (!ok) throw new TypeError(`\`${name}\` must be ${expected}, got ${show(value)}`)
}

/**
 * The default of each option that has one, written once (each option's `@default` documents it).
 */
const DEFAULTS = {
  cache: { maxEntries: 100_000, maxBytes: 64 * 1024 * 1024, revalidateAfter: 0 },
  fsync: true,
  fileMode: 0o600,
  directoryMode: 0o700,
  pruneInterval: 0,
  touchAfter: 0,
  readOnly: false,
  maxFileSize: 16 * 1024 * 1024,
  allowSharedDirectory: false,
}

/**
 * `defaults`, with the value `given` has for each of its names, when it has one (neither
 * `undefined` nor `null`): what `given.name ?? defaults.name` is for each name.
 * @throws Never.
 */
export function withDefaults<T extends object>(
  given: { readonly [K in keyof T]?: T[K] | null },
  defaults: T,
): T {
  const filled = { ...defaults }
  for (const name of Object.keys(defaults) as (keyof T)[]) {
    filled[name] = given[name] ?? defaults[name]
  }
  return filled
}

/** Every option, in an object the compiler holds to the interface. */
export const OPTIONS = {
  cache: true,
  fsync: true,
  fileMode: true,
  directoryMode: true,
  pruneInterval: true,
  touchAfter: true,
  logger: true,
  readOnly: true,
  maxFileSize: true,
  allowSharedDirectory: true,
  legacyFiles: true,
  encryption: true,
} satisfies Record<keyof JsonFileRepositoryOptions, true>

/** Every option name (see `OPTIONS`). */
export const OPTION_NAMES = Object.keys(OPTIONS)

const CACHE_OPTION_NAMES = Object.keys({
  maxEntries: true,
  maxBytes: true,
  revalidateAfter: true,
} satisfies Record<keyof CacheOptions, true>)

const ENCRYPTION_OPTION_NAMES = Object.keys({
  keys: true,
  transition: true,
  since: true,
} satisfies Record<keyof EncryptionOptions, true>)

/** The Levenshtein distance between two strings: the fewest edits that turn one into the other. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const replace = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, replace)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/**
 * Checks that every own property of `options` is one of `known`, as TypeScript does for an
 * object literal, so that a misspelled option (`pruneIntervall`) is an error in JavaScript too
 * instead of being ignored. For packages whose options extend these, such as
 * fastify-file-session-store.
 *
 * @param options The options as given.
 * @param known Every option name accepted.
 * @param prefix Put before each name in the message, such as `cache.`.
 * @throws {TypeError} Naming the first unknown option and, when there is one, the known name
 *   closest to it: "Unknown option `pruneIntervall`: did you mean `pruneInterval`?".
 */
export function checkOptionNames(options: object, known: readonly string[], prefix = ''): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue
    // Like TypeScript's spelling suggestions: case is ignored, and a suggestion must be close.
    let closest: string | undefined
    let closestDistance = Math.floor(name.length * 0.4) + 1
    for (const candidate of known) {
      const d = distance(name.toLowerCase(), candidate.toLowerCase())
      if (d < closestDistance) [closest, closestDistance] = [candidate, d]
    }
    const hint =
      closest === undefined
        ? `; the options are ${known.map((option) => `\`${prefix}${option}\``).join(', ')}`
        : `: did you mean \`${prefix}${closest}\`?`
    throw new TypeError(`Unknown option \`${prefix}${name}\`${hint}`)
  }
}

/**
 * Checks the shape of the `encryption` option (each key is checked as it is derived). Its value
 * is never shown in a message: it holds keys.
 * @throws {TypeError} When it is not an object with a non-empty array `keys`, has an unknown
 *   name, or an invalid `transition`.
 */
function checkEncryption(encryption: EncryptionOptions | undefined): void {
  if (encryption === undefined) return
  if (typeof encryption !== 'object' || encryption === null || !Array.isArray(encryption.keys)) {
    throw new TypeError(
      `\`encryption\` must be an object with an array \`keys\`, got ${typeOf(encryption)} (values of this option are never shown)`,
    )
  }
  checkOptionNames(encryption, ENCRYPTION_OPTION_NAMES, 'encryption.')
  if (encryption.keys.length === 0) throw new TypeError('`encryption.keys` must hold a key')
  const { transition } = encryption
  check(
    transition === undefined || transition === 'encrypting' || transition === 'decrypting',
    'encryption.transition',
    "'encrypting', 'decrypting' or undefined",
    transition,
  )
  const since = encryption.since instanceof Date ? encryption.since.getTime() : encryption.since
  check(
    since === undefined || (transition === 'encrypting' && Number.isFinite(since)),
    'encryption.since',
    "a Date or a number of milliseconds, with `transition: 'encrypting'`",
    encryption.since,
  )
}

/** See `NormalizedOptions.plainBefore`. */
function plainBefore(encryption: EncryptionOptions | undefined): number {
  if (encryption === undefined || encryption.transition === 'decrypting') return Infinity
  if (encryption.transition !== 'encrypting') return -Infinity
  const { since } = encryption
  return since === undefined ? Date.now() : since instanceof Date ? since.getTime() : since
}

/** What kind of value `value` is, without showing it. */
function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/** Whether `value` is a whole number from 0 (a count, a size, a duration in milliseconds). */
export const isCount = (value: number) => Number.isSafeInteger(value) && value >= 0
const isMode = (value: number) => Number.isInteger(value) && value >= 0 && value <= 0o7777

/**
 * Fills in the defaults and checks every option.
 * @throws {TypeError} Naming an invalid option, or an unknown one with the closest known name.
 */
export function normalizeOptions(options: JsonFileRepositoryOptions): NormalizedOptions {
  check(typeof options === 'object' && options !== null, 'options', 'an object', options)
  checkOptionNames(options, OPTION_NAMES)
  const cache = options.cache ?? {}
  check(cache === false || typeof cache === 'object', 'cache', 'an object or false', cache)
  if (cache !== false) checkOptionNames(cache, CACHE_OPTION_NAMES, 'cache.')
  checkEncryption(options.encryption)
  const { cache: cacheDefaults, ...defaults } = DEFAULTS
  const normalized: NormalizedOptions = {
    ...withDefaults(options, defaults),
    cache: cache === false ? false : withDefaults(cache, cacheDefaults),
    logger: options.logger ?? warningLogger('JsonFileRepository'),
    legacyFiles: options.legacyFiles,
    forms: formsOf(options.encryption),
    plainBefore: plainBefore(options.encryption),
  }
  const { cache: bounds, logger } = normalized
  if (bounds) {
    check(
      isCount(bounds.maxEntries) && bounds.maxEntries > 0,
      'cache.maxEntries',
      'a positive integer',
      bounds.maxEntries,
    )
    check(
      isCount(bounds.maxBytes) && bounds.maxBytes > 0,
      'cache.maxBytes',
      'a positive integer',
      bounds.maxBytes,
    )
    check(
      typeof bounds.revalidateAfter === 'number' && bounds.revalidateAfter >= 0,
      'cache.revalidateAfter',
      'a number of milliseconds (0 = every read, Infinity = never)',
      bounds.revalidateAfter,
    )
  }
  check(typeof normalized.fsync === 'boolean', 'fsync', 'a boolean', normalized.fsync)
  check(typeof normalized.readOnly === 'boolean', 'readOnly', 'a boolean', normalized.readOnly)
  // A timer that prunes is a writer.
  check(
    !normalized.readOnly || normalized.pruneInterval === 0,
    'pruneInterval',
    '0 with readOnly',
    normalized.pruneInterval,
  )
  check(isMode(normalized.fileMode), 'fileMode', 'a file mode such as 0o600', normalized.fileMode)
  check(
    isMode(normalized.directoryMode),
    'directoryMode',
    'a file mode such as 0o700',
    normalized.directoryMode,
  )
  check(
    isCount(normalized.pruneInterval) && normalized.pruneInterval <= 2 ** 31 - 1,
    'pruneInterval',
    'a number of milliseconds (0 = off)',
    normalized.pruneInterval,
  )
  check(
    isCount(normalized.touchAfter),
    'touchAfter',
    'a number of milliseconds',
    normalized.touchAfter,
  )
  check(
    isCount(normalized.maxFileSize) && normalized.maxFileSize > 0,
    'maxFileSize',
    'a positive number of bytes',
    normalized.maxFileSize,
  )
  check(
    typeof normalized.allowSharedDirectory === 'boolean',
    'allowSharedDirectory',
    'a boolean',
    normalized.allowSharedDirectory,
  )
  check(
    normalized.legacyFiles === undefined || typeof normalized.legacyFiles.convert === 'function',
    'legacyFiles',
    'an object with a convert() method',
    normalized.legacyFiles,
  )
  check(
    !normalized.readOnly || normalized.legacyFiles === undefined,
    'legacyFiles',
    'unset with readOnly (converting a file writes)',
    normalized.legacyFiles,
  )
  checkLogger(logger)
  return normalized
}

/**
 * Checks that `logger` has the methods a repository calls.
 * @throws {TypeError} When it lacks `warn()` or `error()`.
 */
export function checkLogger(logger: Logger): void {
  check(
    typeof logger?.warn === 'function' && typeof logger.error === 'function',
    'logger',
    'an object with warn() and error() methods',
    logger,
  )
}

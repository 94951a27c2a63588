/** The public shapes of `JsonFileRepository`'s answers and options. */

/** Options of {@link JsonFileRepository.set}. */
export interface SetOptions {
  /**
   * When the entry expires, in milliseconds since the epoch or as a `Date`. An entry that
   * has expired is a miss everywhere and its file is removed. A time that has already passed
   * deletes the entry.
   * @default never
   */
  expiresAt?: number | Date
  /**
   * Update only: when the entry has no file (another process, or this one, deleted it since),
   * write nothing and resolve `false`, rather than create it again. For a caller that knows the
   * key was stored and must not bring it back after a `delete`, such as a session store saving
   * a session after a logout. The file is checked last before the rename: a delete between that
   * check and the rename (one file operation) is still undone.
   * @default false
   */
  update?: boolean
}

/** An entry with what is known of its file. */
export interface RepositoryEntry<T> {
  key: string
  value: T
  /** Expiry in milliseconds since the epoch, `undefined` for never. */
  expiresAt: number | undefined
  /** Size of the file in bytes. */
  size: number
  /** Last time the file was written or its expiry moved, in milliseconds since the epoch. */
  changedAt: number
}

/** What `list()` tells of an entry: everything but its value, from `stat` alone. */
export type EntryInfo = Omit<RepositoryEntry<unknown>, 'value'>

/** How to read the files of an earlier store (the `legacyFiles` option). */
export interface LegacyFormat {
  /**
   * Where the earlier store's files are: `false` for `<key>` with no extension, each converted
   * into a new `<key>.json` beside it (as @itrocks/fastify-file-session-store 0.3 named them);
   * `true` for this repository's own unencrypted names, `<key>.json`, with no expiry on their
   * modification time, each written again where it is (as session-file-store named them).
   * @default false
   */
  inPlace?: boolean
  /**
   * The value and the expiry (ms since the epoch, `undefined` for never) that the JSON of a
   * legacy file stands for, or `undefined` when it holds no entry: the file is then moved aside
   * as a corrupt one.
   * @param writtenAt The file's modification time: when the earlier store last wrote it.
   */
  convert(
    value: unknown,
    writtenAt: number,
  ): { value: unknown; expiresAt: number | undefined } | undefined
}

/** What {@link JsonFileRepository.migrate} did, in numbers of legacy files. */
export interface MigrationReport {
  /** Converted into an entry. */
  migrated: number
  /** Removed, because their entry already had a current file, which wins. */
  superseded: number
  /** Removed, because they had expired. */
  expired: number
  /** Moved aside: they held no entry (reported to the logger). */
  corrupt: number
}

/** Counters since the repository was created. */
export interface RepositoryStats {
  /** Reads answered from the cache after checking the file's stat. */
  hits: number
  /** Reads that opened and parsed the file. */
  misses: number
  /** Files written (temp file + rename). */
  writes: number
  /** Expiries moved without rewriting the content. */
  touches: number
  /** Calls to `set` (and `touch`) that needed no I/O because nothing changed. */
  skipped: number
  /** Files removed by `delete`, `clear`, expiry or `prune`. */
  deletes: number
  /** Corrupt or foreign files moved aside. */
  quarantined: number
  /** Temp files left by writers that crashed, removed by `prune`. */
  tempFilesRemoved: number
  /** Files moved aside more than 7 days before, removed by `prune`. */
  quarantinedRemoved: number
  /** Entries in the cache now. */
  cacheEntries: number
  /** Bytes counted in the cache now. */
  cacheBytes: number
}

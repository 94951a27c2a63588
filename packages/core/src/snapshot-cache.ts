/**
 * The cache of entries: a bounded LRU (lru-cache, by entries and by bytes) of each entry's JSON
 * text, never of live objects, so that a caller who mutates what it got changes nothing stored.
 * Each snapshot carries the stat signature of the file it came from; a read serves it only
 * while the file still has that signature, so another process's write or delete is seen on the
 * next read.
 */
import fs from 'node:fs'
import { LRUCache } from 'lru-cache'
import { type Signature, sameSignature } from './file-io'
import type { CacheOptions } from './options'
import { ownCopy } from './own-copy'
import type { RepositoryStats } from './types'

/** One version of an entry as its file holds it. */
export interface Snapshot {
  json: string
  signature: Signature
  /** The expiry the file holds, `undefined` for never. */
  expiresAt: number | undefined
  /** When the file was last seen to hold this version (`Date.now()`), for `revalidateAfter`. */
  checkedAt?: number
}

/**
 * Heap bytes an entry takes besides the characters of its JSON and of its key (the LRU's slots,
 * the key's and the JSON's string headers, the snapshot, its signature), as measured on Node
 * 20, so that `cache.maxBytes` bounds the heap the cache really uses.
 */
const ENTRY_OVERHEAD = 280

/** A character outside Latin-1: V8 then keeps the whole string two bytes per character. */
const TWO_BYTE = /[\u0100-\uffff]/

/** The bytes V8 keeps the characters of `text` in: one each for Latin-1 text, else two. */
function heapBytes(text: string): number {
  return TWO_BYTE.test(text) ? text.length * 2 : text.length
}

export class SnapshotCache {
  /** `undefined` when the cache is off: every method is then a cheap no-op or a miss. */
  readonly #lru: LRUCache<string, Snapshot> | undefined
  /** How long a snapshot is served without a look at its file (see `revalidateAfter`). */
  readonly #revalidateAfter: number
  /** Reads served from the cache, and reads that had to open the file (see `RepositoryStats`). */
  #hits = 0
  #misses = 0

  constructor(bounds: Required<CacheOptions> | false) {
    this.#revalidateAfter = bounds ? bounds.revalidateAfter : 0
    if (bounds) {
      this.#lru = new LRUCache({
        max: bounds.maxEntries,
        maxSize: bounds.maxBytes,
        sizeCalculation: (snapshot, key) =>
          heapBytes(snapshot.json) + heapBytes(key) + ENTRY_OVERHEAD,
      })
    }
  }

  /** The snapshot last cached for `key`, not checked against its file. */
  get(key: string): Snapshot | undefined {
    return this.#lru?.get(key)
  }

  /**
   * The snapshot of `key` if its file is still that version (or was, less than
   * `revalidateAfter` ago), counted as a hit; `null` when the file is gone (a miss without
   * opening it); `undefined`, counted as a miss, when the file must be read.
   * @throws The `lstat` error, other than a missing file.
   */
  validated(key: string, file: string): Snapshot | null | undefined {
    const cached = this.#lru?.get(key)
    if (cached === undefined) return this.#miss()
    // Date.now() only when there is a window: the default path stays one lstat and no clock.
    const now = this.#revalidateAfter > 0 ? Date.now() : 0
    if (now - (cached.checkedAt ?? now) < this.#revalidateAfter) return this.#hit(cached)
    // A synchronous lstat: about 1 µs of the event loop on a local disk, where the thread
    // pool's round trip costs five times that in CPU, and this is the path of most reads.
    return this.#checked(key, cached, now, fs.lstatSync(file, { throwIfNoEntry: false }))
  }

  /**
   * {@link validated} with the `lstat` in the thread pool: for a network filesystem, where each
   * `lstat` is a round trip to the server that a synchronous call would wait for on the event
   * loop (measured on GlusterFS: 2 to 2.5 times the read-mostly requests/s of the synchronous
   * check with 20 users, and a third of its p99).
   * @throws The `lstat` error, other than a missing file.
   */
  async validatedAsync(key: string, file: string): Promise<Snapshot | null | undefined> {
    const cached = this.#lru?.get(key)
    if (cached === undefined) return this.#miss()
    const now = this.#revalidateAfter > 0 ? Date.now() : 0
    if (now - (cached.checkedAt ?? now) < this.#revalidateAfter) return this.#hit(cached)
    const stats = await fs.promises.lstat(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined
      throw error
    })
    return this.#checked(key, cached, now, stats)
  }

  /** What `cached` is worth given its file's `stats` (`undefined`: the file is gone). */
  #checked(
    key: string,
    cached: Snapshot,
    now: number,
    stats: fs.Stats | undefined,
  ): Snapshot | null | undefined {
    if (stats === undefined) {
      this.#lru?.delete(key)
      return null
    }
    if (!sameSignature(stats, cached.signature)) return this.#miss()
    if (now !== 0) cached.checkedAt = now
    return this.#hit(cached)
  }

  #hit(cached: Snapshot): Snapshot {
    this.#hits++
    return cached
  }

  #miss(): undefined {
    this.#misses++
    return undefined
  }

  /** Caches `snapshot`, just read from or written to its file. */
  set(key: string, snapshot: Snapshot): void {
    if (this.#revalidateAfter > 0) snapshot.checkedAt = Date.now()
    // A key already cached keeps the string it was cached under; a new one is kept as a copy
    // of its own, so that it does not pin the string it was cut from (see `ownCopy`).
    if (this.#lru?.has(key) === false) this.#lru.set(ownCopy(key), snapshot)
    else this.#lru?.set(key, snapshot)
  }

  delete(key: string): void {
    this.#lru?.delete(key)
  }

  /** What `RepositoryStats` tells of the cache: its counters, and its size now. */
  stats(): Pick<RepositoryStats, 'hits' | 'misses' | 'cacheEntries' | 'cacheBytes'> {
    // Bytes as counted for `maxBytes` (see `ENTRY_OVERHEAD`).
    return {
      hits: this.#hits,
      misses: this.#misses,
      cacheEntries: this.#lru?.size ?? 0,
      cacheBytes: this.#lru?.calculatedSize ?? 0,
    }
  }
}

/**
 * The ids used in the last while (a lifetime), dropped by age only, never by count, so that no
 * flood of other ids can push one out (see `SessionFiles`): what makes a logout hold against the
 * saves of requests still in flight.
 */
import { ownCopy } from './own-copy'

/**
 * A use less than this many seconds after the one noted is not noted again: most requests then
 * only look their id up. An id is therefore kept from `lifetime` to `lifetime` + this after its
 * last use, never less.
 */
const NOTE_EVERY = 10

/**
 * An id kept here takes at most 72 bytes of heap besides its characters (one byte each for a
 * Latin-1 id, two otherwise): its own copy's header (16), and the Map's slot, bucket and spare
 * capacity (28 to 56), as measured on Node 20. That is the bound `SessionFiles` documents.
 */
export class RecentIds {
  /**
   * Each id with when it was noted, oldest first, in seconds from {@link #epoch}: a small
   * integer, which V8 keeps in the Map's slot (milliseconds since 1970 would each take 16 bytes).
   */
  readonly #ids = new Map<string, number>()
  readonly #epoch = Date.now()
  /** Seconds an id is kept after it was noted. */
  readonly #keep: number
  /** When the oldest id noted is to be dropped (seconds from {@link #epoch}). */
  #nextDrop = Number.POSITIVE_INFINITY

  /** @param lifetime How long, in milliseconds, an id is kept at least after its last use. */
  constructor(lifetime: number) {
    this.#keep = Math.ceil(lifetime / 1000) + NOTE_EVERY
  }

  has(id: string): boolean {
    return this.#ids.has(id)
  }

  /** Notes that `id` was used now, and drops the ids noted longer ago than they are kept. */
  note(id: string): void {
    const now = Math.floor((Date.now() - this.#epoch) / 1000)
    if (now >= this.#nextDrop) this.#drop(now)
    const notedAt = this.#ids.get(id)
    if (notedAt !== undefined && now - notedAt < NOTE_EVERY) return
    // To the end of the order, as a copy of its own: a key kept for minutes must not pin the
    // request (the cookie header) it was cut from.
    this.#ids.delete(id)
    this.#ids.set(ownCopy(id), now)
    if (this.#nextDrop === Number.POSITIVE_INFINITY) this.#nextDrop = now + this.#keep
  }

  /** Ids kept now. */
  get size(): number {
    return this.#ids.size
  }

  #drop(now: number): void {
    this.#nextDrop = Number.POSITIVE_INFINITY
    for (const [id, notedAt] of this.#ids) {
      if (now - notedAt < this.#keep) {
        this.#nextDrop = notedAt + this.#keep
        return
      }
      this.#ids.delete(id)
    }
  }
}

/**
 * The per-key queue: operations on one key run one after the other, in call order, while
 * different keys run concurrently. Sets are coalesced as steno does it: while a write for a
 * key runs, only the newest value waiting behind it is kept, and every caller whose value was
 * replaced settles with the write that covers it (the last call wins).
 */

/** A set queued and not started yet: later sets replace its value and share its promise. */
interface Pending<V, R> {
  value: V
  done: Promise<R>
}

export class WriteQueue<V, R = void> {
  /** Tail of the queue of each key that has one running: a key without a queue is idle. */
  readonly #tails = new Map<string, Promise<void>>()
  /** The set of each key that is queued and not started yet. */
  readonly #pending = new Map<string, Pending<V, R>>()

  /** Whether an operation for `key` is queued or running. */
  busy(key: string): boolean {
    return this.#tails.has(key)
  }

  /**
   * Queues a write of `value`, or, when one is already waiting for `key`, replaces its value
   * and returns its promise: `write` runs once for both, with the newest value.
   */
  set(key: string, value: V, write: (value: V) => Promise<R>): Promise<R> {
    const pending = this.#pending.get(key)
    if (pending) {
      pending.value = value
      return pending.done
    }
    const next = { value } as Pending<V, R>
    this.#pending.set(key, next)
    next.done = this.#enqueue(key, () => {
      this.#pending.delete(key)
      return write(next.value)
    })
    return next.done
  }

  /**
   * Runs `task` after every operation already queued for `key`. A set waiting for `key` no
   * longer takes newer values: it stays before `task`, and a set made after queues after it.
   */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    this.#pending.delete(key)
    return this.#enqueue(key, task)
  }

  #enqueue<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key)
    const result = previous ? previous.then(task) : task()
    const tail = result.then(
      () => {},
      () => {},
    )
    this.#tails.set(key, tail)
    tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    })
    return result
  }

  /** Resolves once no key has an operation queued or running, whatever their outcome. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values())
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `condition` every 10 ms until it holds or `timeout` ms have passed; resolves to its last
 * result. The deadline is only reached when something is wrong, so it is generous: a loaded
 * machine must never reach it. It runs on the monotonic clock, which `fakeClock` leaves alone.
 */
export async function waitFor(condition: () => boolean, timeout = 30_000): Promise<boolean> {
  const deadline = performance.now() + timeout
  while (!condition()) {
    if (performance.now() > deadline) return false
    await sleep(10)
  }
  return true
}

/**
 * Fakes the clock (`Date`) and nothing else: timers, ticks and I/O run for real. The clock stands
 * still until the test moves it, so an expiry passes exactly when the test says, never before
 * however slow the machine. Undo with `jest.useRealTimers()`.
 */
export function fakeClock(): { set(time: number): void; advance(ms: number): void } {
  jest.useFakeTimers({ doNotFake: NOT_THE_CLOCK, now: Date.now() })
  return {
    set: (time) => jest.setSystemTime(time),
    advance: (ms) => jest.setSystemTime(Date.now() + ms),
  }
}

type FakeTimersConfig = Extract<Parameters<typeof jest.useFakeTimers>[0], { doNotFake?: unknown }>

/** Every API jest's fake timers can fake, but `Date`. */
export const NOT_THE_CLOCK: NonNullable<FakeTimersConfig['doNotFake']> = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
]

/** The error `create` throws (and a failure when it throws nothing). */
export function thrown(create: () => unknown): Error {
  try {
    create()
  } catch (error) {
    return error as Error
  }
  throw new Error('nothing was thrown')
}

/** The value a node-style `method` calls back with, as a promise. */
export function call<T>(method: (callback: (error: unknown, value?: T) => void) => void) {
  return new Promise<T | undefined>((resolve, reject) => {
    method((error, value) => (error ? reject(error) : resolve(value)))
  })
}

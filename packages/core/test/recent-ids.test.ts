/**
 * The memory of loaded and destroyed ids: an id is kept at least its lifetime after its last
 * use, whatever else is noted meanwhile, and dropped by age afterwards. The clock is faked.
 */
import { RecentIds } from '../src/recent-ids'
import { fakeClock } from './helpers'

const LIFETIME = 300_000

afterEach(() => jest.useRealTimers())

test('an id is kept its lifetime after its last use, then dropped', () => {
  const clock = fakeClock()
  const ids = new RecentIds(LIFETIME)
  ids.note('a')
  // Used again soon after: not noted again, and still kept a whole lifetime after this use.
  clock.advance(9_900)
  ids.note('a')
  clock.advance(LIFETIME - 1_000)
  ids.note('b')
  expect(ids.has('a')).toBe(true)
  clock.advance(11_000)
  ids.note('b')
  expect(ids.has('a')).toBe(false)
  expect(ids.has('b')).toBe(true)
  expect(ids.size).toBe(1)
})

test('an id used all along is never dropped', () => {
  const clock = fakeClock()
  const ids = new RecentIds(LIFETIME)
  for (let second = 0; second < 3 * LIFETIME; second += 30_000) {
    ids.note('kept')
    ids.note(`other ${second}`)
    clock.advance(30_000)
    expect(ids.has('kept')).toBe(true)
  }
  // The others were dropped as they aged: only the last lifetime's are kept.
  expect(ids.size).toBeLessThanOrEqual(LIFETIME / 30_000 + 2)
})

test('no number of other ids pushes one out', () => {
  fakeClock()
  const ids = new RecentIds(LIFETIME)
  ids.note('logged out')
  for (let i = 0; i < 200_000; i++) ids.note(`id ${i}`)
  expect(ids.has('logged out')).toBe(true)
  expect(ids.size).toBe(200_001)
})

test('a key of its own: an id cut from a longer string is kept as an equal string', () => {
  fakeClock()
  const ids = new RecentIds(LIFETIME)
  const cookie = `sessionId=${'x'.repeat(32)}.${'s'.repeat(43)}`
  ids.note(cookie.slice(10, 42))
  expect(ids.has('x'.repeat(32))).toBe(true)
  expect(ids.has(cookie.slice(10, 41))).toBe(false)
})

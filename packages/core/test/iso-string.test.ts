/**
 * `isoString`, the formatting of a session's `cookie.expires` on every read, says exactly what
 * `Date.prototype.toISOString` says, for every time a `Date` can hold.
 */
import fc from 'fast-check'
import { isoString } from '../src/iso-string'

const LAST_FOUR_DIGIT_YEAR = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
const MAX_DATE = 8.64e15

test('any whole millisecond from 1970 to 9999 is formatted as toISOString does', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: LAST_FOUR_DIGIT_YEAR }), (time) => {
      expect(isoString(time)).toBe(new Date(time).toISOString())
    }),
    { numRuns: 20_000 },
  )
})

test('leap days, ends of months and years, and the ends of the range', () => {
  const times = [
    0,
    1,
    999,
    Date.UTC(1970, 0, 1, 23, 59, 59, 999),
    Date.UTC(2000, 1, 29, 12),
    Date.UTC(2000, 2, 1),
    Date.UTC(2100, 1, 28, 23, 59, 59, 999),
    Date.UTC(2100, 2, 1),
    Date.UTC(2024, 11, 31, 23, 59, 59, 999),
    Date.UTC(2400, 1, 29),
    LAST_FOUR_DIGIT_YEAR,
  ]
  for (const time of times) expect(isoString(time)).toBe(new Date(time).toISOString())
})

test('any other time is formatted, or refused, by Date itself', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ min: -MAX_DATE, max: -1 }),
        fc.integer({ min: LAST_FOUR_DIGIT_YEAR + 1, max: MAX_DATE }),
        fc.double({ min: 0, max: LAST_FOUR_DIGIT_YEAR, noNaN: true }),
      ),
      (time) => {
        expect(isoString(time)).toBe(new Date(time).toISOString())
      },
    ),
    { numRuns: 5000 },
  )
  for (const time of [Number.NaN, Number.POSITIVE_INFINITY, MAX_DATE + 1]) {
    expect(() => isoString(time)).toThrow(RangeError)
  }
})

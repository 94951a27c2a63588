/**
 * The expiry a session file keeps in its modification time, as the file format says (see the
 * core's README): shifted 200 years ahead, so that a time from 2200 on holds an expiry and any
 * earlier one means "never expires". Written here from the format, not taken from the core's
 * code, so that a test that sets or reads an expiry on disk also checks the format.
 */

/** 2200-01-01T00:00:00Z: a modification time from then on holds an expiry. */
export const STAMPED_FROM = 7_258_118_400_000
/** How far ahead an expiry is stored: 200 years of 365.25 days. */
const SHIFT = 200 * 365.25 * 24 * 60 * 60 * 1000

/** The modification time, in seconds as `fs.utimes` takes it, that stores `expiresAt`. */
export function expiryToMtime(expiresAt: number): number {
  return (expiresAt + SHIFT) / 1000
}

/** The expiry stored in a modification time (`mtimeMs`); `undefined` is never. */
export function mtimeToExpiry(mtimeMs: number): number | undefined {
  return mtimeMs >= STAMPED_FROM ? Math.round(mtimeMs - SHIFT) : undefined
}

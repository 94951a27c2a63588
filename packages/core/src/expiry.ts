/**
 * The expiry of an entry is kept in its file's modification time, so that `prune()` decides
 * from `stat` alone, without opening or parsing any file (as PHP's session handler does).
 *
 * It is stored shifted 200 years ahead: a modification time after 2100 holds an expiry, any
 * earlier one is an ordinary time and means "never expires". So a file written by another tool,
 * or by hand, is never mistaken for an expired entry. Filesystems that cannot store times past
 * 2100 (XFS without bigtime, ext4 with 128-byte inodes, NFSv3) clamp the time: the repository
 * notices it on its first write and reports that expiries cannot be kept there.
 */

/** 2100-01-01T00:00:00Z: a modification time from then on holds an expiry. */
const STAMPED_FROM = 4_102_444_800_000
/** How far ahead an expiry is stored: 200 years of 365.25 days. */
const SHIFT = 200 * 365.25 * 24 * 60 * 60 * 1000

/** The modification time, in seconds as `fs.futimes` takes it, that stores `expiresAt`. */
export function expiryToMtime(expiresAt: number | undefined, now = Date.now()): number {
  return (expiresAt === undefined ? now : expiresAt + SHIFT) / 1000
}

/** The expiry stored in a modification time, in ms since the epoch; `undefined` is never. */
export function mtimeToExpiry(mtimeMs: number): number | undefined {
  return mtimeMs >= STAMPED_FROM ? Math.round(mtimeMs - SHIFT) : undefined
}

/** Whether an expiry has passed. */
export function isExpired(expiresAt: number | undefined, now = Date.now()): boolean {
  return expiresAt !== undefined && expiresAt <= now
}

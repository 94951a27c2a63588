/**
 * The expiry of an entry is kept in its file's modification time, so that `prune()` decides
 * from `stat` alone, without opening or parsing any file (as PHP's session handler does).
 *
 * It is stored shifted 200 years ahead: a modification time after 2200 holds an expiry, any
 * earlier one is an ordinary time and means "never expires". So a file written by another tool,
 * or by hand, is never mistaken for an expired entry. Filesystems that cannot store times past
 * 2200 clamp them (to 2038 for XFS without bigtime and ext4 with 128-byte inodes, to 2106 for
 * NFSv3, to 2107 for FAT): their entries never expire, which the repository reports on its
 * first write there. An expiry before 2000 cannot be stored; it has passed, and `set` and
 * `touch` delete an entry whose expiry has passed instead of storing it.
 */

/** 2200-01-01T00:00:00Z: a modification time from then on holds an expiry (from 2000 on). */
const STAMPED_FROM = 7_258_118_400_000
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

/**
 * Whether a stored expiry may stand for a wanted one: the same, or (with `touchAfter`) a little
 * earlier, by less than `touchAfter` and less than half of the remaining lifetime, so that an
 * entry kept alive by frequent sets never expires for want of a touch.
 */
export function expiryIsCurrent(
  stored: number | undefined,
  wanted: number | undefined,
  touchAfter: number,
  now = Date.now(),
): boolean {
  if (stored === wanted) return true
  if (stored === undefined || wanted === undefined || wanted < stored) return false
  return wanted - stored < Math.min(touchAfter, (wanted - now) / 2)
}

/**
 * The expiry given to `set` or `touch`, in whole milliseconds.
 * @throws {TypeError} When it is neither a `Date` nor a finite number.
 */
export function toExpiry(expiresAt: number | Date | undefined): number | undefined {
  if (expiresAt === undefined) return undefined
  const time = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt
  if (typeof time !== 'number' || !Number.isFinite(time)) {
    throw new TypeError(
      `\`expiresAt\` must be a Date or a number of milliseconds, got ${String(expiresAt)}`,
    )
  }
  return Math.round(time)
}

/**
 * Ratios from alternating rounds. On a shared, noisy machine a ratio of two figures measured
 * minutes apart says more about the background load than about the stores, so every ratio the
 * report states is taken round by round (both sides measured one right after the other, which
 * goes first alternating), then summed up as the median of the per-round ratios and their
 * spread (min–max). A verdict is given only when the whole spread is on one side of the target.
 */

/** The per-round ratios of one comparison, summed up. */
export interface Spread {
  median: number
  min: number
  max: number
  /** The per-round ratios, in round order. */
  ratios: number[]
}

export type Verdict = 'met' | 'not met' | 'within noise'

/** The order to measure `items` in round `round`: as given, reversed every other round. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse()
}

/**
 * `a[i] ÷ b[i]` for every round both sides measured, summed up; `undefined` when no round did.
 * `a` and `b` are rates (higher is better) of the same rounds.
 */
export function ratioSpread(a: number[] | undefined, b: number[] | undefined): Spread | undefined {
  if (!a || !b) return undefined
  const ratios = a
    .map((value, i) => value / (b[i] ?? Number.NaN))
    .filter((ratio) => Number.isFinite(ratio) && ratio > 0)
  if (ratios.length === 0) return undefined
  const sorted = [...ratios].sort((x, y) => x - y)
  const middle = sorted.length >> 1
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : Math.sqrt((sorted[middle - 1] as number) * (sorted[middle] as number))
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number, ratios }
}

/** `met` when the whole spread reaches `required`, `not met` when none of it does. */
export function verdict(spread: Spread, required: number): Verdict {
  if (spread.min >= required) return 'met'
  if (spread.max < required) return 'not met'
  return 'within noise'
}

/** All verdicts of a target together: any `not met` wins, then any `within noise`. */
export function combine(verdicts: Verdict[]): Verdict {
  if (verdicts.includes('not met')) return 'not met'
  if (verdicts.includes('within noise')) return 'within noise'
  return 'met'
}

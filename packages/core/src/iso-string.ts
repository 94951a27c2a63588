/**
 * `new Date(time).toISOString()`, at a third of its cost for the times a session expires at
 * (1970 to 9999): a session's `cookie.expires` is formatted on every read, and V8's own
 * formatting of a `Date` is most of what that read costs beyond parsing its JSON. Any other
 * time (before 1970, after 9999, not a whole millisecond) is formatted by `Date` itself.
 * @throws {RangeError} As `toISOString` does, for a time no `Date` can hold.
 */
export function isoString(time: number): string {
  if (!(time >= 0 && time <= LAST && Number.isInteger(time))) return new Date(time).toISOString()
  const days = Math.floor(time / DAY)
  // The civil date of a day count (Howard Hinnant's `civil_from_days`), in 400-year eras of
  // 146,097 days that start on March 1st, so that a leap day is the last day of its year.
  const shifted = days + 719_468
  const era = Math.floor(shifted / 146_097)
  const dayOfEra = shifted - era * 146_097
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  )
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  const ms = time - days * DAY
  const clock = `${two(Math.floor(ms / 3_600_000))}:${two(Math.floor(ms / 60_000) % 60)}:${two(Math.floor(ms / 1000) % 60)}`
  return `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}T${clock}.${String(ms % 1000).padStart(3, '0')}Z`
}

const DAY = 86_400_000
/** 9999-12-31T23:59:59.999Z: later years take six digits and a sign. */
const LAST = 253_402_300_799_999

function two(value: number): string {
  return value < 10 ? `0${value}` : `${value}`
}

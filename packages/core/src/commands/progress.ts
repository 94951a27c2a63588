/**
 * The progress of a long command on a terminal: on a network filesystem every file is a round
 * trip, and a command over many files takes minutes. One line on stderr, redrawn in place
 * (entries done, their rate, and an ETA once the total is known), erased at the end. Only when
 * stderr is a terminal: a script, a pipe or a log gets nothing extra.
 */
import fs from 'node:fs'
import { walks } from '../directory'

/** How often the line is redrawn. */
const REDRAW_EVERY = 250

/** The line shown now, if any: its last draw and erasure, once. */
let finish: (() => Promise<void>) | undefined

/**
 * Draws the line a last time (with the total), erases it and stops: before the command prints
 * its result to the same terminal, and at its end. Does nothing when no line is shown.
 * @throws Never.
 */
export async function finishProgress(): Promise<void> {
  const finishing = finish
  finish = undefined
  await finishing?.()
}

/**
 * Shows the progress of `command` on stderr if it is a terminal, until {@link finishProgress},
 * counting the names read from the directory (and {@link entryDone}s); the total is the
 * number of names in `directory`, counted alongside, when `walksDirectory`.
 * @throws Never.
 */
export function showProgress(command: string, directory: string, walksDirectory: boolean): void {
  if (!process.stderr.isTTY) return
  const start = performance.now()
  let done = 0
  let total: number | undefined
  const tick = () => {
    done++
  }
  walks.onName = tick
  const counted = walksDirectory
    ? countNames(directory).then(
        (count) => {
          total = count
        },
        () => {},
      )
    : Promise.resolve()
  const draw = () => {
    const seconds = (performance.now() - start) / 1000
    const rate = done / Math.max(seconds, 0.001)
    let line = `${command}: ${done.toLocaleString('en-US')} entries`
    if (total !== undefined) line += ` of ${total.toLocaleString('en-US')}`
    line += `, ${Math.round(rate).toLocaleString('en-US')}/s`
    if (total !== undefined && rate > 0) line += `, ETA ${clock(Math.max(0, total - done) / rate)}`
    process.stderr.write(`\r\x1b[K${line}`)
  }
  draw()
  const timer = setInterval(draw, REDRAW_EVERY).unref()
  finish = async () => {
    clearInterval(timer)
    walks.onName = undefined
    await counted
    draw()
    process.stderr.write('\r\x1b[K')
  }
}

/** `m:ss`, or `h:mm:ss` from an hour. */
function clock(seconds: number): string {
  const s = Math.ceil(seconds)
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)]
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** Counts one entry done by a command that does not walk the directory (import). */
export function entryDone(): void {
  walks.onName?.()
}

/** How many names `directory` holds, streamed (not through the walks it would count). */
async function countNames(directory: string): Promise<number> {
  let count = 0
  for await (const _ of await fs.promises.opendir(directory, { bufferSize: 128 })) count++
  return count
}

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { fixturesDirectory } from './helpers'

/** A repository in another process (fixtures/peer.js), called through its stdin. */
export class Peer {
  readonly #child: ChildProcessWithoutNullStreams
  readonly #waiting = new Map<number, (message: PeerAnswer) => void>()
  #nextId = 1
  readonly ready: Promise<void>

  constructor(dist: string, directory: string) {
    this.#child = spawn(process.execPath, [
      path.join(fixturesDirectory, 'peer.js'),
      dist,
      directory,
    ])
    this.#child.stderr.pipe(process.stderr)
    this.ready = new Promise((resolve) => this.#waiting.set(0, () => resolve()))
    readline.createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as PeerAnswer
      this.#waiting.get(message.id)?.(message)
      this.#waiting.delete(message.id)
    })
  }

  call(method: string, ...args: unknown[]): Promise<PeerAnswer> {
    const id = this.#nextId++
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve)
      this.#child.stdin.write(`${JSON.stringify({ id, method, args })}\n`)
    })
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#child.on('exit', () => resolve())
      this.#child.stdin.end()
    })
  }
}

export interface PeerAnswer {
  id: number
  result?: unknown
  error?: { code: string; message: string }
  stats?: { hits: number; misses: number }
}

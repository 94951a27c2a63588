/**
 * Flushing the directory, so that a rename or an unlink that has resolved survives a power
 * loss (the file's own fsync makes its data durable, not its name). Group commit, as databases
 * do it: one fsync of the directory in flight at a time; it covers every rename and unlink that
 * completed before it started, and callers that arrive while it runs share the next one.
 */
import fs from 'node:fs'

// O_DIRECTORY: fails rather than flush something else put in the directory's place.
const DIRECTORY_FLAGS = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY

export class DirectorySync {
  readonly #directory: string
  /** The fsync in flight: it may have started before the caller's rename, so covers none. */
  #running: Promise<void> | undefined
  /** The fsync that starts when the running one ends: it covers every caller waiting for it. */
  #next: Promise<void> | undefined

  constructor(directory: string) {
    this.#directory = directory
  }

  /**
   * Resolves once an fsync of the directory that started after this call has completed.
   * @throws The error of the `open` or `fsync` of the directory.
   */
  sync(): Promise<void> {
    if (this.#running === undefined) return this.#start()
    if (this.#next === undefined) {
      const start = () => {
        this.#next = undefined
        return this.#start()
      }
      this.#next = this.#running.then(start, start)
    }
    return this.#next
  }

  #start(): Promise<void> {
    const running = fsyncDirectory(this.#directory)
    this.#running = running
    const end = () => {
      if (this.#running === running) this.#running = undefined
    }
    running.then(end, end)
    return running
  }
}

/** Opens the directory (each time: it may have been removed and made again), fsyncs, closes. */
function fsyncDirectory(directory: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.open(directory, DIRECTORY_FLAGS, (error, fd) => {
      if (error) return reject(error)
      fs.fsync(fd, (syncError) => {
        fs.close(fd, (closeError) => {
          const failure = syncError ?? closeError
          if (failure) reject(failure)
          else resolve()
        })
      })
    })
  })
}

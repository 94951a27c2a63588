/**
 * One-shot jobs in a fresh Node process: a clean heap for memory figures, an empty cache for
 * "after a restart", and no interference between the stores.
 */
import { fork } from 'node:child_process'

type Reply<R> = { result: R } | { error: string }

/** Runs `script` with `--expose-gc`, sends it `job`, and resolves to what it answers. */
export function runJob<J, R>(script: string, job: J): Promise<R> {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], { execArgv: ['--expose-gc'], stdio: 'inherit' })
    let reply: Reply<R> | undefined
    child.once('message', (message) => {
      reply = message as Reply<R>
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (reply && 'result' in reply) resolve(reply.result)
      else if (reply) reject(new Error(reply.error))
      else reject(new Error(`${script} exited with ${code ?? signal} before answering`))
    })
    child.send(job as object)
  })
}

/** The child's side: answers the first job it is sent with `handler`, then exits. */
export function serveJob<J, R>(handler: (job: J) => Promise<R>): void {
  process.once('message', (job) => {
    handler(job as J).then(
      (result) => reply({ result }),
      (error: unknown) =>
        reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    )
  })
}

function reply<R>(message: Reply<R>): void {
  process.send?.(message, () => process.exit(0))
}

/**
 * A private redis-server for the run: on a free port of 127.0.0.1, nothing saved to disk,
 * stopped at the end. `undefined` when redis-server is not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import net from 'node:net'

export interface RedisServer {
  port: number
  pid: number
  stop(): Promise<void>
}

export async function startRedis(): Promise<RedisServer | undefined> {
  const port = await freePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000)
    let output = ''
    child.once('error', () => {
      clearTimeout(timer)
      resolve(false)
    })
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(false)
    })
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve(true)
      }
    })
  })
  if (!ready || child.pid === undefined) {
    child.kill()
    return undefined
  }
  child.stdout?.resume()
  child.stderr?.resume()
  const pid = child.pid
  return { port, pid, stop: () => stop(child) }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

/** A port nobody listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

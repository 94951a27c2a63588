export interface LogRecord {
  level: 'warn' | 'error' | 'debug'
  object: object
  message: string | undefined
}

type Log = (object: object, message?: string) => void

/**
 * A logger that keeps every record, so that tests can check what was reported. It has the shape
 * of json-file-repository's `Logger` (and of pino's), which this package does not depend on.
 */
export function memoryLogger(): { warn: Log; error: Log; debug: Log; records: LogRecord[] } {
  const records: LogRecord[] = []
  return {
    records,
    warn: (object, message) => records.push({ level: 'warn', object, message }),
    error: (object, message) => records.push({ level: 'error', object, message }),
    debug: (object, message) => records.push({ level: 'debug', object, message }),
  }
}

// Helpers shared by this package's tests (not exported from the package).
import { Writable } from 'node:stream'
import { createLogger, type Logger } from './logging.ts'

/** A logger whose JSON lines are collected in `lines` instead of written to stdout. */
export function capturingLogger(level: 'info' | 'debug' = 'info'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { logger: createLogger({ level, name: 'test', destination }), lines }
}

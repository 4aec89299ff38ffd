import { Writable } from 'node:stream'
import t from 'tap'
import { runInTrace } from '@civic-desk/tracing'
import { createLogger } from './logging.ts'

function capture() {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'))
      done()
    },
  })
  return { lines, logger: createLogger({ level: 'info', name: 'test', destination }) }
}

const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true }

t.test('a line written inside a span carries its traceId and spanId; outside, none', async (t) => {
  const { lines, logger } = capture()
  const component = logger.child({ component: 'routing' })
  component.info({ caseId: 'c-1' }, 'outside')
  await runInTrace(trace, async () => {
    await Promise.resolve()
    component.info({ caseId: 'c-1', citizen: { phone: '+905321112233' } }, 'inside, after an await')
  })
  const [outside, inside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  t.equal(outside?.['traceId'], undefined)
  t.match(inside, { msg: 'inside, after an await', component: 'routing', caseId: 'c-1', traceId: trace.traceId, spanId: trace.spanId, citizen: '[redacted]' })
  t.ok(lines[1]?.endsWith('}\n'), 'still one JSON line')
})

t.test('a logger that binds the ids already gets no second copy', async (t) => {
  const { lines, logger } = capture()
  runInTrace(trace, () => logger.child({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) }).info('bound'))
  t.equal(lines[0]?.split('"traceId"').length, 2, 'one traceId key')
  t.match(JSON.parse(lines[0] ?? '{}'), { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) })
})

import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger, logLevelSchema } from './logging.ts'

function capture() {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { lines, destination }
}

t.test('writes JSON lines with name, level label, ISO time; children add their component', async (t) => {
  const { lines, destination } = capture()
  const logger = createLogger({ level: 'info', name: 'intake', destination })
  logger.child({ component: 'routing' }).info({ caseId: 'c-1' }, 'case routed to Fen İşleri')
  logger.debug('not written below info')
  t.equal(lines.length, 1)
  t.match(lines[0], { name: 'intake', level: 'info', component: 'routing', caseId: 'c-1', msg: 'case routed to Fen İşleri' })
  t.match(lines[0]?.['time'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
})

t.test('authorization headers and cookies never reach the log', async (t) => {
  const { lines, destination } = capture()
  const logger = createLogger({ level: 'info', name: 'intake', destination })
  logger.info({ req: { method: 'POST', headers: { authorization: 'Bearer s3cret-token', cookie: 'sid=abc', 'user-agent': 'curl' } } }, 'incoming')
  t.same((lines[0]?.['req'] as { headers: unknown }).headers, { authorization: '[redacted]', cookie: '[redacted]', 'user-agent': 'curl' })
  t.notMatch(JSON.stringify(lines), /s3cret-token/)
})

t.test('the log level schema defaults to info and rejects unknown levels', async (t) => {
  t.equal(logLevelSchema.parse(undefined), 'info')
  t.equal(logLevelSchema.parse('debug'), 'debug')
  t.equal(logLevelSchema.safeParse('verbose').success, false)
})

t.test('a request line never carries its query string (it can hold a phone number or an e-mail address)', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }
  const logger = createLogger({ level: 'info', name: 'workflow', destination })
  const request = { method: 'GET', url: '/v1/privacy/subjects?phone=%2B905329876543', host: 'localhost', ip: '127.0.0.1', raw: {}, socket: { remotePort: 5000 } }
  logger.info({ req: request }, 'incoming request')
  t.same(lines[0]?.['req'], { method: 'GET', url: '/v1/privacy/subjects', query: '[not logged]', host: 'localhost', remoteAddress: '127.0.0.1', remotePort: 5000 })
  t.notMatch(JSON.stringify(lines), /905329876543/)
  logger.info({ req: { method: 'GET', url: '/v1/search?email=ayse@example.com' } }, 'a component logs a plain request')
  t.notMatch(JSON.stringify(lines[1]), /ayse/)
})

t.test('personal data in a logged object is redacted, up to two levels down', async (t) => {
  const lines: string[] = []
  const destination = { write: (line: string) => void lines.push(line) }
  const logger = createLogger({ level: 'info', name: 'intake', destination })
  logger.info({ body: { description: 'Gizli Açıklama', citizen: { name: 'Zerrin', phone: '+905321112233' } } }, 'a body')
  logger.info({ event: { data: { description: 'Gizli Açıklama' }, location: { address: 'Gül Sk. 7' } } }, 'an event')
  logger.info({ phone: '+905321112233', to: 'zerrin@example.com', text: 'Sayın Zerrin' }, 'top level')
  logger.info({ caseId: 'c-1', department: 'fen-isleri', count: 3 }, 'clear fields stay')
  const all = lines.join('\n')
  for (const value of ['Gizli', 'Zerrin', '905321112233', 'Gül Sk', 'zerrin@example.com']) t.notMatch(all, value, `no ${value}`)
  t.match(lines[3], /"department":"fen-isleri"/)
})

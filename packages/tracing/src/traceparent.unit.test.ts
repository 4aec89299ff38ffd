import t from 'tap'
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from './traceparent.ts'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN = '00f067aa0ba902b7'

t.test('a valid version-00 traceparent is read, and written back the same', async (t) => {
  const header = `00-${TRACE}-${SPAN}-01`
  const parsed = parseTraceparent(header)
  t.same(parsed, { traceId: TRACE, spanId: SPAN, sampled: true })
  t.equal(parsed === null ? '' : formatTraceparent(parsed), header)
  t.same(parseTraceparent(`00-${TRACE}-${SPAN}-00`), { traceId: TRACE, spanId: SPAN, sampled: false }, 'flags 00: not sampled')
  t.same(parseTraceparent(`00-${TRACE}-${SPAN}-03`)?.sampled, true, 'unknown flag bits are ignored, sampled is bit 0')
})

t.test('tracestate is passed on when sane, dropped when not', async (t) => {
  t.equal(parseTraceparent(`00-${TRACE}-${SPAN}-01`, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7')?.tracestate, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7')
  t.equal(parseTraceparent(`00-${TRACE}-${SPAN}-01`, ['a=1', 'b=2'])?.tracestate, 'a=1,b=2', 'repeated headers are joined')
  t.equal(parseTraceparent(`00-${TRACE}-${SPAN}-01`, 'x'.repeat(513))?.tracestate, undefined, 'too long')
  t.equal(parseTraceparent(`00-${TRACE}-${SPAN}-01`, 'a=\u0001')?.tracestate, undefined, 'control characters')
})

t.test('what the spec says to ignore is null', async (t) => {
  const cases: Record<string, unknown> = {
    'version ff': `ff-${TRACE}-${SPAN}-01`,
    'version not hex': `0g-${TRACE}-${SPAN}-01`,
    'upper-case hex': `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    'bad hex in the trace id': `00-${TRACE.slice(0, 31)}z-${SPAN}-01`,
    'bad hex in the span id': `00-${TRACE}-${SPAN.slice(0, 15)}x-01`,
    'bad flags': `00-${TRACE}-${SPAN}-0x`,
    'all-zero trace id': `00-${'0'.repeat(32)}-${SPAN}-01`,
    'all-zero span id': `00-${TRACE}-${'0'.repeat(16)}-01`,
    'version 00 with more after it': `00-${TRACE}-${SPAN}-01-extra`,
    'too short': `00-${TRACE}-${SPAN}-1`,
    'too long': `00-${TRACE}-${SPAN}-01${'0'.repeat(600)}`,
    'wrong separators': `00_${TRACE}_${SPAN}_01`,
    empty: '',
    absent: undefined,
    'repeated header': [`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01`],
  }
  for (const [name, header] of Object.entries(cases)) t.equal(parseTraceparent(header as string | undefined), null, name)
})

t.test('a later version is read by its first four fields', async (t) => {
  t.same(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`), { traceId: TRACE, spanId: SPAN, sampled: true })
  t.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01x`), null, 'but only when a dash follows them')
})

t.test('new ids are lower-case hex of the right length, never all zero, and differ', async (t) => {
  const traces = new Set(Array.from({ length: 2000 }, () => newTraceId()))
  const spans = new Set(Array.from({ length: 2000 }, () => newSpanId()))
  t.equal(traces.size, 2000)
  t.equal(spans.size, 2000)
  for (const id of traces) if (!/^[0-9a-f]{32}$/.test(id) || /^0+$/.test(id)) t.fail(`bad trace id ${id}`)
  for (const id of spans) if (!/^[0-9a-f]{16}$/.test(id) || /^0+$/.test(id)) t.fail(`bad span id ${id}`)
})

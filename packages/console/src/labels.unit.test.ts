// Every code the server can answer with has a Turkish name in the console, and the formatting
// helpers speak Turkish in Istanbul time.
import { CaseEvent, CaseStatus, Channel, RequestKind } from '@civic-desk/contracts'
import t from 'tap'

type Table = Readonly<Record<string, string>>
interface Labels {
  STATUS: Table
  CHANNEL: Table
  KIND: Table
  EVENT_TYPE: Table
  SLA_LEVEL: Table
  CONSUMER_KIND: Table
  DEAD_LETTER_KIND: Table
  label(table: Table, code: string | null | undefined): string
}
interface Format {
  formatDateTime(value: string): string
  formatTime(value: string): string
  formatDuration(ms: number): string
  formatTimeLeft(ms: number): { text: string; overdue: boolean }
  formatInteger(value: number): string
  formatPercent(share: number): string
  lastHourSeries(points: ReadonlyArray<{ minute: string; count: number }>, now: string): { labels: string[]; counts: number[] }
}

// The browser modules are plain JavaScript (no build step); load them as they are served.
const labels = (await import(new URL('./public/labels.js', import.meta.url).href)) as Labels
const format = (await import(new URL('./public/format.js', import.meta.url).href)) as Format

t.test('every contract code has a Turkish label', async (t) => {
  const eventTypes = CaseEvent.options.map((schema) => schema.shape.type.value)
  t.ok(eventTypes.length >= 19)
  for (const type of eventTypes) t.ok(labels.EVENT_TYPE[type], `event type ${type}`)
  for (const status of CaseStatus.options) t.ok(labels.STATUS[status], `status ${status}`)
  for (const channel of Channel.options) t.ok(labels.CHANNEL[channel], `channel ${channel}`)
  for (const kind of RequestKind.options) t.ok(labels.KIND[kind], `kind ${kind}`)
  t.equal(labels.label(labels.STATUS, 'waiting_for_citizen'), 'Vatandaştan bilgi bekleniyor')
  t.equal(labels.label(labels.CHANNEL, 'call-center'), 'Alo 153 çağrı merkezi')
  t.equal(labels.label(labels.EVENT_TYPE, 'CaseRouted'), 'Birime yönlendirildi')
  t.equal(labels.label(labels.STATUS, 'archived'), 'archived', 'an unknown code is shown as it is')
  t.equal(labels.label(labels.STATUS, 'constructor'), 'constructor', 'no prototype keys')
  t.equal(labels.label(labels.STATUS, null), '—')
})

t.test('the codes of the dashboard views have Turkish labels too', async (t) => {
  // slaLevel of a queue row (services/dashboard views.ts), consumer kinds and dead-letter kinds of /v1/ops/streams.
  for (const level of ['on-track', 'warning', 'breached', 'paused', 'none']) t.ok(labels.SLA_LEVEL[level], `SLA level ${level}`)
  for (const kind of ['store', 'kafka']) t.ok(labels.CONSUMER_KIND[kind], `consumer kind ${kind}`)
  for (const kind of ['invalid', 'failed']) t.ok(labels.DEAD_LETTER_KIND[kind], `dead-letter kind ${kind}`)
  t.equal(labels.label(labels.SLA_LEVEL, 'paused'), 'Süre durduruldu')
  t.equal(labels.label(labels.CONSUMER_KIND, 'store'), 'Olay deposu')
})

t.test('dates and times are Turkish, in Europe/Istanbul', async (t) => {
  // 21:05 UTC is 00:05 the next day in Istanbul (UTC+3, no DST).
  t.equal(format.formatTime('2026-11-25T21:05:09Z'), '00:05:09')
  t.match(format.formatDateTime('2026-11-25T21:05:09Z'), /^26 Kas 2026 00:05$/)
  t.equal(format.formatDateTime('not a date'), '—')
  t.equal(format.formatInteger(12345), '12.345')
  t.equal(format.formatPercent(0.456), '%46', 'Turkish puts the percent sign first')
})

t.test('durations and time left', async (t) => {
  t.equal(format.formatDuration(45_000), '45 sn')
  t.equal(format.formatDuration((2 * 60 + 5) * 60_000), '2 sa 5 dk')
  t.equal(format.formatDuration((3 * 24 + 4) * 3_600_000 + 7 * 60_000), '3 gün 4 sa')
  t.same(format.formatTimeLeft(90 * 60_000), { text: '1 sa 30 dk kaldı', overdue: false })
  t.same(format.formatTimeLeft(-2 * 3_600_000), { text: '2 sa gecikti', overdue: true })
})

t.test('the per-minute series spans the last hour with gaps as zero', async (t) => {
  const series = format.lastHourSeries(
    [
      { minute: '2026-11-25T20:10:00.000Z', count: 3 },
      { minute: '2026-11-25T21:04:00.000Z', count: 5 },
      { minute: '2026-11-25T19:00:00.000Z', count: 9 }, // older than an hour: not shown
    ],
    '2026-11-25T21:05:30.000Z',
  )
  t.equal(series.labels.length, 60)
  t.equal(series.labels.at(-1), '00:05')
  t.equal(series.labels[0], '23:06')
  t.equal(series.counts.at(-2), 5)
  t.equal(series.counts[4], 3)
  t.equal(series.counts.reduce((a, b) => a + b, 0), 8)
})

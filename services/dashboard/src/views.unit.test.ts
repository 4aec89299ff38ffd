// The CSV export as a spreadsheet reads it: BOM, CRLF rows, quoting, and text that would start a
// formula neutralised (a citizen types the neighbourhood; an operator opens the file).
import t from 'tap'
import { createMemoryReadModelStore, evolveCase, type CaseDoc } from '@civic-desk/read-models'
import { departmentCsv } from './views.ts'

const receivedAt = '2026-11-20T09:00:00.000Z'

/** A routed, escalated complaint of fen-isleri as the projection folds it, with `over` on top. */
function doc(caseId: string, over: Partial<CaseDoc>): CaseDoc {
  const data = { caseId, trackingCode: `TC-${caseId}`, channel: 'web', kind: 'complaint', category: 'yol-cukur', description: 'Çukur', receivedAt } as const
  const meta = { eventId: `e-${caseId}`, schemaVersion: 1, occurredAt: receivedAt, actor: { kind: 'channel', id: 'web' }, correlationId: caseId, causationId: null } as const
  const submitted = evolveCase(null, { caseId, position: 1, event: { ...meta, type: 'CaseSubmitted', data } })!
  return { ...submitted, status: 'routed', department: 'fen-isleri', escalated: true, ...over }
}

t.test('CSV cells: formulas neutralised, quoting where a spreadsheet needs it, BOM and CRLF', async (t) => {
  const store = createMemoryReadModelStore()
  const writer = await store.createVersion('store-1')
  await store.activate(writer.version)
  const cases = [
    doc('c1', { neighbourhood: '=HYPERLINK("http://x","tıkla")' }),
    doc('c2', { neighbourhood: '+90 532', category: '-1' }),
    doc('c3', { neighbourhood: '@SUM(A1)', duplicateOf: 'a;b' }),
    doc('c4', { neighbourhood: 'Kazımdirik\nMah.', department: 'temizlik' }),
    doc('c5', { neighbourhood: 'Erzene, Bornova' }),
  ]
  await writer.commit({ cases, created: new Set(cases.map((c) => c.caseId)), counters: new Map(), queueRemove: [], queueAdd: [], samples: [], minutes: new Map(), position: 5, latestEventMs: Date.parse(receivedAt), applied: 5, skipped: 0 })
  const csv = await departmentCsv((await store.reader())!, 'fen-isleri', Date.parse('2026-11-20T00:00:00.000Z'), Date.parse('2026-11-21T00:00:00.000Z'))
  t.ok(csv.startsWith('\uFEFFcaseId,trackingCode,receivedAt,'), 'BOM, then the header')
  t.ok(csv.endsWith('\r\n'), 'the last row ends like the others')
  const rows = csv.slice(1).split('\r\n')
  t.equal(rows.length, 6, 'header, the four cases of fen-isleri (not temizlik’s), and nothing after the last CRLF')
  t.equal(rows[0], 'caseId,trackingCode,receivedAt,submittedAt,status,kind,channel,department,category,neighbourhood,dueAt,firstResponseAt,resolvedAt,escalated,breached,duplicateOf')
  const tail = `${receivedAt},${receivedAt},routed,complaint,web,fen-isleri`
  t.equal(rows[1], `c1,TC-c1,${tail},yol-cukur,"'=HYPERLINK(""http://x"",""tıkla"")",,,,true,false,`)
  t.equal(rows[2], `c2,TC-c2,${tail},'-1,'+90 532,,,,true,false,`)
  t.equal(rows[3], `c3,TC-c3,${tail},yol-cukur,'@SUM(A1),,,,true,false,"a;b"`)
  t.equal(rows[4], `c5,TC-c5,${tail},yol-cukur,"Erzene, Bornova",,,,true,false,`)
  t.equal(rows[5], '')
})

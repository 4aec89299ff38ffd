// How big staff can make a case, over HTTP: a note past the limit is a 409, text past the size a
// 413 (Turkish problem details, nothing written), answering always works; and the case view pages
// its notes.
import t from 'tap'
import { T0, act, as, at, revisionOf, seedCase, setup } from './test-support.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'

t.test('409 for a note past maxNotes, 413 for text past maxCaseBytes; nothing written; the case can still be answered', async (t) => {
  const env = setup(t, at(1), { caseLimits: { maxNotes: 3, maxCaseBytes: 10_000 } })
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  for (const text of ['Birinci not.', 'İkinci not.', 'Üçüncü not.']) t.equal((await env.request('POST', `/v1/cases/${caseId}/note`, as.fen, { text })).statusCode, 200)
  const revision = await revisionOf(env.store, caseId)

  const fourth = await env.request('POST', `/v1/cases/${caseId}/note`, as.fen, { text: 'Dördüncü not.' })
  t.equal(fourth.statusCode, 409)
  t.equal(fourth.headers['content-type'], PROBLEM)
  t.match(fourth.json(), { status: 409, code: 'conflict', reason: 'note_limit_reached', detail: 'Bu başvuruya en fazla 3 not eklenebilir ve bu sayıya ulaşıldı; yeni not eklenemez. Gerekli bilgiyi sonuç yazısında verin.' })
  t.equal(await revisionOf(env.store, caseId), revision, 'nothing written')

  // Questions and replies count towards the size: 4,000 characters of 'ş' are 8,000 bytes.
  const question = await env.request('POST', `/v1/cases/${caseId}/request-info`, as.fen, { question: 'Adres? '.padEnd(1500, 'ş') })
  t.equal(question.statusCode, 200)
  const reply = await env.request('POST', `/v1/cases/${caseId}/citizen-reply`, as.fen, { text: 'ş'.repeat(4000) })
  t.equal(reply.statusCode, 413)
  t.equal(reply.headers['content-type'], PROBLEM)
  t.match(reply.json(), { status: 413, code: 'payload_too_large', reason: 'case_too_large', detail: /^Başvurunun kaydı en fazla 10\.000 bayt olabilir; bu işlemle [\d.]+ bayta çıkacaktı/ })
  t.equal(await revisionOf(env.store, caseId), revision + 1, 'only the question was written')

  const short = await env.request('POST', `/v1/cases/${caseId}/citizen-reply`, as.fen, { text: 'Eczanenin önü.' })
  t.equal(short.statusCode, 200, 'what fits, fits')
  const resolve = await env.request('POST', `/v1/cases/${caseId}/resolve`, as.fen, { resolution: 'Çukur kapatıldı. '.repeat(200).trim() })
  t.equal(resolve.statusCode, 200, 'answering is never refused for size')
  t.equal(resolve.json().status, 'resolved')
})

t.test('the case view pages its notes: the newest 50 by default, older pages through notesBefore', async (t) => {
  const env = setup(t, at(1))
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  for (let i = 0; i < 120; i++) await act(env.store, caseId, at(1 + i / 60), (meta) => ({ type: 'AddNote', meta, data: { text: `Not ${i}` } }))
  const texts = (body: { notes: { text: string }[] }) => body.notes.map((n) => n.text)
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `Not ${from + i}`)

  const newest = await env.request('GET', `/v1/cases/${caseId}`, as.fen)
  t.equal(newest.statusCode, 200)
  t.same(texts(newest.json()), range(70, 120), 'oldest first within the page')
  t.same(newest.json().notesPage, { total: 120, from: 70, to: 120, limit: 50, olderBefore: 70 })

  const older = await env.request('GET', `/v1/cases/${caseId}?notesBefore=70`, as.fen)
  t.same(texts(older.json()), range(20, 70))
  const oldest = await env.request('GET', `/v1/cases/${caseId}?notesBefore=${older.json().notesPage.olderBefore}&notesLimit=50`, as.fen)
  t.same(texts(oldest.json()), range(0, 20))
  t.same(oldest.json().notesPage, { total: 120, from: 0, to: 20, limit: 50, olderBefore: null })
  t.same(texts((await env.request('GET', `/v1/cases/${caseId}?notesLimit=5`, as.fen)).json()), range(115, 120))

  const after = await env.request('POST', `/v1/cases/${caseId}/note`, as.fen, { text: 'Not 120' })
  t.same(after.json().notesPage, { total: 121, from: 71, to: 121, limit: 50, olderBefore: 71 }, 'a command answers with the newest page too')

  for (const query of ['notesLimit=0', 'notesLimit=201', 'notesBefore=-1', 'notesLimit=abc', 'page=2']) {
    const bad = await env.request('GET', `/v1/cases/${caseId}?${query}`, as.fen)
    t.equal(bad.statusCode, 400, query)
    t.equal(bad.headers['content-type'], PROBLEM)
  }
})

import t, { type Test } from 'tap'
import { CalendarCoverageError, createBusinessCalendar, loadHolidayData } from '@civic-desk/calendar'
import type { Submission } from '@civic-desk/case-domain'
import { CaseMarkedDuplicateV1, CaseRoutedV1 } from '@civic-desk/contracts'
import { defaultCatalogueFile, loadCatalogue } from '@civic-desk/service-kit'
import { createClassifier } from './classify.ts'
import {
  comparableText,
  haversineMeters,
  planRouting,
  textSimilarity,
  type DuplicateCandidate,
  type PlanInput,
  type RoutingPlan,
} from './plan.ts'

const catalogue = loadCatalogue(defaultCatalogueFile)
const classifier = createClassifier(catalogue)
const calendar = createBusinessCalendar(loadHolidayData())

/** UTC ISO of a local Istanbul time, for comparing with what routing stores. */
const utc = (local: string): string => new Date(local).toISOString()

const POTHOLE = 'Sokakta büyük bir ÇUKUR var, araçlar zarar görüyor'

function submission(overrides: Partial<Submission> = {}): Submission {
  return {
    caseId: '5b1f7a52-1d7e-5c8e-9a0b-3c4d5e6f7a80',
    trackingCode: 'K7MA-4PXR-9TK',
    channel: 'web',
    kind: 'complaint',
    description: POTHOLE,
    receivedAt: '2026-11-20T13:00:00.000Z',
    ...overrides,
  }
}

function plan(s: Submission, rest: Partial<Omit<PlanInput, 'submission'>> = {}): RoutingPlan {
  return planRouting({ submission: s, catalogue, classifier, calendar, candidates: [], ...rest })
}

/** Checks the plan's data against the event schema, so a plan is always appendable. */
function valid(t: Test, p: RoutingPlan): void {
  const schema = p.kind === 'routed' ? CaseRoutedV1.shape.data : CaseMarkedDuplicateV1.shape.data
  const checked = schema.safeParse(p.data)
  t.ok(checked.success, `data matches the ${p.kind === 'routed' ? 'CaseRouted' : 'CaseMarkedDuplicate'} schema${checked.success ? '' : `: ${JSON.stringify(checked.error.issues)}`}`)
}

t.test('a Turkish pothole complaint without a category goes to public works by keywords, 48 h wall-clock', async (t) => {
  const p = plan(submission())
  valid(t, p)
  t.equal(p.kind, 'routed')
  t.match(p.data, { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'keywords', legalDueAt: null })
  t.ok(p.data.matchedKeywords.includes('çukur'), `matched ${p.data.matchedKeywords.join(', ')}`)
  t.same(p.data.sla, { clock: 1, startedAt: '2026-11-20T13:00:00.000Z', deadline: { hours: 48 }, basis: 'category', dueAt: '2026-11-22T13:00:00.000Z' })
  t.equal(p.calendarCoverageError, null)
})

t.test("the citizen's category decides the department, whatever the text says", async (t) => {
  const p = plan(submission({ category: 'agac-budama' }))
  valid(t, p)
  t.match(p.data, { department: 'park-bahce', category: 'agac-budama', routedBy: 'category', matchedKeywords: [] })
  // A category the catalogue no longer has: the text decides instead.
  t.match(plan(submission({ category: 'kaldirilmis-kategori' })).data, { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'keywords' })
})

t.test('nothing matches: the fallback directorate (configurable), no category, the municipal promise', async (t) => {
  const p = plan(submission({ description: 'Merhaba, iyi günler dilerim.' }))
  valid(t, p)
  t.same(
    { department: p.data.department, category: p.data.category, routedBy: p.data.routedBy, matchedKeywords: p.data.matchedKeywords },
    { department: 'halkla-iliskiler', category: null, routedBy: 'fallback', matchedKeywords: [] },
  )
  t.same(p.data.sla, { clock: 1, startedAt: '2026-11-20T13:00:00.000Z', deadline: { hours: 48 }, basis: 'municipal-promise', dueAt: '2026-11-22T13:00:00.000Z' })
  t.equal(plan(submission({ description: 'Merhaba' }), { options: { fallbackDepartment: 'kultur' } }).data.department, 'kultur')
})

t.test('an information request without a category goes to the information unit: 15 working days by Law 4982', async (t) => {
  // Friday 20 November 2026, 16:00 → close of office on Friday 11 December (the calendar's own known instant).
  const p = plan(submission({ kind: 'information', description: 'Yol çalışmasının ihale belgelerini talep ediyorum', submittedAt: '2026-11-20T16:00:00+03:00' }))
  valid(t, p)
  t.match(p.data, { department: 'bilgi-edinme', category: 'bilgi-edinme-basvurusu', routedBy: 'category' })
  t.same(p.data.sla, {
    clock: 1,
    startedAt: utc('2026-11-20T16:00:00+03:00'),
    deadline: { workingDays: 15 },
    basis: 'information-law',
    dueAt: utc('2026-12-11T17:30:00+03:00'),
  })
  t.equal(p.data.legalDueAt, utc('2026-12-11T17:30:00+03:00'))
})

t.test('an information request with a category keeps its directorate; the law still bounds it', async (t) => {
  const p = plan(submission({ kind: 'information', category: 'yol-cukur', submittedAt: '2026-11-20T16:00:00+03:00' }))
  t.match(p.data, { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'category' })
  t.match(p.data.sla, { deadline: { hours: 48 }, basis: 'category', dueAt: utc('2026-11-22T16:00:00+03:00') })
  t.equal(p.data.legalDueAt, utc('2026-12-11T17:30:00+03:00'))
})

t.test('working days skip the weekend, the 29 October holiday, and close at 13:00 on its eve', async (t) => {
  // evde-bakim: 5 working days. Friday 23 October 2026 → Mon 26 (1), Tue 27 (2), Wed 28 half day (3),
  // Thu 29 Cumhuriyet Bayramı (skipped), Fri 30 (4), Sat/Sun skipped, Mon 2 November (5) at 17:30.
  const p = plan(submission({ category: 'evde-bakim', description: 'Annem yatalak', submittedAt: '2026-10-23T10:00:00+03:00' }))
  valid(t, p)
  t.same(p.data.sla, { clock: 1, startedAt: utc('2026-10-23T10:00:00+03:00'), deadline: { workingDays: 5 }, basis: 'category', dueAt: utc('2026-11-02T17:30:00+03:00') })
  // Friday 13 March 2026 → Mon 16, Tue 17, Wed 18, Thu 19 (arife, half day), Fri 20 Ramazan Bayramı, weekend, Mon 23.
  const ramazan = plan(submission({ category: 'evde-bakim', description: 'Annem yatalak', submittedAt: '2026-03-13T10:00:00+03:00' }))
  t.equal(ramazan.data.sla.dueAt, utc('2026-03-23T17:30:00+03:00'))
  // Four working days from the same Friday end on the half day, at 13:00.
  const halfDay = plan(submission({ category: 'evde-bakim', description: 'x', submittedAt: '2026-03-13T10:00:00+03:00' }), {
    catalogue: { ...catalogue, categories: catalogue.categories.map((c) => (c.code === 'evde-bakim' ? { ...c, sla: { workingDays: 4 } } : c)) },
  })
  t.equal(halfDay.data.sla.dueAt, utc('2026-03-19T13:00:00+03:00'))
})

t.test('hours are wall-clock by design: 48 h from a Friday afternoon end on Sunday', async (t) => {
  const p = plan(submission({ category: 'yol-cukur', submittedAt: '2026-11-20T16:00:00+03:00' }))
  t.equal(p.data.sla.dueAt, utc('2026-11-22T16:00:00+03:00'))
})

t.test('submittedAt (when the citizen applied) starts the clock, not receivedAt', async (t) => {
  const p = plan(submission({ submittedAt: '2026-11-18T09:00:00+03:00', receivedAt: '2026-11-20T13:00:00.000Z' }))
  t.equal(p.data.sla.startedAt, utc('2026-11-18T09:00:00+03:00'))
  t.equal(p.data.sla.dueAt, utc('2026-11-20T09:00:00+03:00'))
})

t.test('a CİMER pothole: the clock is the category 48 h, the legal limit 30 calendar days moved to a working day', async (t) => {
  // Thursday 19 November 2026 + 30 days = Saturday 19 December → end of Monday 21 December.
  const p = plan(submission({ channel: 'cimer', submittedAt: '2026-11-19T15:00:00+03:00' }))
  valid(t, p)
  t.match(p.data, { department: 'fen-isleri', category: 'yol-cukur' })
  t.same(p.data.sla, { clock: 1, startedAt: utc('2026-11-19T15:00:00+03:00'), deadline: { hours: 48 }, basis: 'category', dueAt: utc('2026-11-21T15:00:00+03:00') })
  t.equal(p.data.legalDueAt, utc('2026-12-21T23:59:59.999+03:00'))
})

t.test('the law wins when it is earlier than the category terms', async (t) => {
  // A municipality that promises 45 days for a category still owes a CİMER petitioner an answer in 30.
  const slow = { ...catalogue, categories: catalogue.categories.map((c) => (c.code === 'yol-cukur' ? { ...c, sla: { workingDays: 45 } } : c)) }
  const p = plan(submission({ channel: 'cimer', category: 'yol-cukur', submittedAt: '2026-11-19T15:00:00+03:00' }), { catalogue: slow })
  t.same(p.data.sla, { clock: 1, startedAt: utc('2026-11-19T15:00:00+03:00'), deadline: { calendarDays: 30 }, basis: 'cimer', dueAt: utc('2026-12-21T23:59:59.999+03:00') })
  t.equal(p.data.legalDueAt, p.data.sla.dueAt)
})

t.test('beyond the holiday data: plain elapsed time (a day = 24 h), recorded as hours, and the coverage error returned', async (t) => {
  // 15 working days from 20 December 2027 reach 2028, which the data does not cover.
  const p = plan(submission({ kind: 'information', description: 'Belge talep ediyorum', submittedAt: '2027-12-20T10:00:00+03:00' }))
  valid(t, p)
  t.type(p.calendarCoverageError, CalendarCoverageError)
  t.equal(p.calendarCoverageError?.year, 2028)
  t.same(p.data.sla, { clock: 1, startedAt: utc('2027-12-20T10:00:00+03:00'), deadline: { hours: 360 }, basis: 'information-law', dueAt: utc('2028-01-04T10:00:00+03:00') })
  t.equal(p.data.legalDueAt, utc('2028-01-04T10:00:00+03:00'))
  // A petition dated before the data: the working days from its date are not covered either.
  const old = plan(submission({ kind: 'information', description: 'Belge talep ediyorum', submittedAt: '2023-12-20T10:00:00+03:00' }))
  t.equal(old.calendarCoverageError?.year, 2023)
  t.match(old.data.sla, { deadline: { hours: 360 }, dueAt: utc('2024-01-04T10:00:00+03:00') })
  // Calendar days beyond the data: the legal limit becomes 30 × 24 h; the 48 h clock never needed the data.
  const cimer = plan(submission({ channel: 'cimer', category: 'yol-cukur', submittedAt: '2027-12-15T10:00:00+03:00' }))
  t.equal(cimer.calendarCoverageError?.year, 2028)
  t.same(cimer.data.sla, { clock: 1, startedAt: utc('2027-12-15T10:00:00+03:00'), deadline: { hours: 48 }, basis: 'category', dueAt: utc('2027-12-17T10:00:00+03:00') })
  t.equal(cimer.data.legalDueAt, utc('2028-01-14T10:00:00+03:00'))
  t.equal(plan(submission()).calendarCoverageError, null)
})

// ---- duplicates ------------------------------------------------------------------------------

const HERE = { lat: 41.0, lon: 29.0 }
/** A point `meters` north of HERE (1 m of latitude is about 1/111 195 degree). */
const north = (meters: number) => ({ lat: HERE.lat + meters / 111_195, lon: HERE.lon })

function candidate(overrides: Partial<DuplicateCandidate> = {}): DuplicateCandidate {
  return {
    caseId: '0c6f3a1e-1111-4a2b-8c3d-000000000001',
    trackingCode: 'AAAA-BBBB-CCC',
    category: 'yol-cukur',
    submittedAt: '2026-11-20T08:00:00.000Z',
    position: 1,
    neighbourhood: null,
    lat: null,
    lon: null,
    text: comparableText('Yolda çukur'),
    duplicateOf: null,
    ...overrides,
  }
}

function duplicateData(p: RoutingPlan) {
  if (p.kind !== 'duplicate') throw new Error(`expected a duplicate, got ${p.kind}`)
  return p.data
}

t.test('same category within 100 m: a duplicate, with the distance', async (t) => {
  const earlier = candidate({ ...north(0) })
  const p = plan(submission({ location: north(80) }), { candidates: [earlier] })
  valid(t, p)
  const d = duplicateData(p)
  t.equal(d.duplicateOf, earlier.caseId)
  t.equal(d.duplicateOfTrackingCode, earlier.trackingCode)
  t.equal(d.match, 'location')
  t.ok(d.distanceMeters !== null && Math.abs(d.distanceMeters - 80) < 0.5, `distance ${d.distanceMeters}`)
  t.type(d.similarity, 'number')
  // Everything a routed case gets, too.
  t.match(d, { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'keywords', sla: { dueAt: '2026-11-22T13:00:00.000Z' } })
})

t.test('400 m apart in different neighbourhoods: not a duplicate', async (t) => {
  const earlier = candidate({ ...north(0), neighbourhood: 'Kazımdirik' })
  const p = plan(submission({ location: { ...north(400), neighbourhood: 'Erzene' } }), { candidates: [earlier] })
  t.equal(p.kind, 'routed')
  t.equal(plan(submission({ location: north(149) }), { candidates: [earlier] }).kind, 'duplicate', 'just inside the radius')
  t.equal(plan(submission({ location: north(152) }), { candidates: [earlier] }).kind, 'routed', 'just outside the radius')
  t.equal(plan(submission({ location: north(300) }), { candidates: [earlier], options: { duplicateRadiusMeters: 350 } }).kind, 'duplicate', 'the radius is an option')
})

t.test('"Kazımdirik Mahallesi" and "kazımdirik mah." with similar text: a duplicate, without coordinates', async (t) => {
  const earlier = candidate({ neighbourhood: 'Kazımdirik Mahallesi', text: 'Sokağımızdaki büyük çukur araçlara zarar veriyor' })
  const p = plan(submission({ location: { neighbourhood: 'kazımdirik mah.' } }), { candidates: [earlier] })
  valid(t, p)
  const d = duplicateData(p)
  t.equal(d.match, 'neighbourhood-text')
  t.equal(d.distanceMeters, null)
  t.ok(d.similarity !== null && d.similarity >= 0.45, `similarity ${d.similarity}`)
  t.equal(d.duplicateOf, earlier.caseId)
})

t.test('same neighbourhood, dissimilar text: not a duplicate', async (t) => {
  const earlier = candidate({ neighbourhood: 'Kazımdirik Mahallesi', text: 'Okulun önündeki yolda asfalt tamamen bozulmuş, yama yapılmalı' })
  const p = plan(submission({ location: { neighbourhood: 'Kazımdirik' } }), { candidates: [earlier] })
  t.equal(p.kind, 'routed')
  // The threshold is an option: a pair sharing a little ("yol", "çök") matches once it is low enough.
  const related = candidate({ neighbourhood: 'Kazımdirik', text: 'Parkın yanındaki yol çökmüş, göçük oluştu' })
  const similarity = textSimilarity(POTHOLE, related.text)
  t.ok(similarity > 0.05 && similarity < 0.45, `similarity ${similarity}`)
  t.equal(plan(submission({ location: { neighbourhood: 'Kazımdirik' } }), { candidates: [related] }).kind, 'routed')
  t.equal(plan(submission({ location: { neighbourhood: 'Kazımdirik' } }), { candidates: [related], options: { textSimilarity: 0.05 } }).kind, 'duplicate')
})

t.test('outside the window: not a duplicate; just inside: a duplicate', async (t) => {
  const at = Date.parse('2026-11-20T13:00:00.000Z')
  const hoursBefore = (h: number) => new Date(at - h * 3_600_000).toISOString()
  t.equal(plan(submission({ location: north(10) }), { candidates: [candidate({ ...north(0), submittedAt: hoursBefore(73) })] }).kind, 'routed')
  t.equal(plan(submission({ location: north(10) }), { candidates: [candidate({ ...north(0), submittedAt: hoursBefore(71) })] }).kind, 'duplicate')
  t.equal(plan(submission({ location: north(10) }), { candidates: [candidate({ ...north(0), submittedAt: hoursBefore(23) })], options: { duplicateWindowHours: 24 } }).kind, 'duplicate')
  t.equal(plan(submission({ location: north(10) }), { candidates: [candidate({ ...north(0), submittedAt: hoursBefore(25) })], options: { duplicateWindowHours: 24 } }).kind, 'routed')
})

t.test('a candidate that is itself a duplicate: link to its original', async (t) => {
  const original = { caseId: '0c6f3a1e-1111-4a2b-8c3d-0000000000aa', trackingCode: 'ORIG-INAL-000' }
  const p = plan(submission({ location: north(20) }), { candidates: [candidate({ ...north(0), duplicateOf: original })] })
  const d = duplicateData(p)
  t.equal(d.duplicateOf, original.caseId)
  t.equal(d.duplicateOfTrackingCode, original.trackingCode)
  t.ok(d.distanceMeters !== null && Math.abs(d.distanceMeters - 20) < 0.5, 'the distance is to the case that matched')
})

t.test('the closest match wins: distance, then similarity, then the earliest', async (t) => {
  const far = candidate({ caseId: '0c6f3a1e-1111-4a2b-8c3d-000000000002', ...north(120), position: 1 })
  const near = candidate({ caseId: '0c6f3a1e-1111-4a2b-8c3d-000000000003', ...north(40), position: 2 })
  t.equal(duplicateData(plan(submission({ location: north(0) }), { candidates: [far, near] })).duplicateOf, near.caseId)

  const neighbourhood = 'Kazımdirik'
  const weak = candidate({ caseId: '0c6f3a1e-1111-4a2b-8c3d-000000000004', neighbourhood, text: 'Sokakta çukur var', position: 1 })
  const strong = candidate({ caseId: '0c6f3a1e-1111-4a2b-8c3d-000000000005', neighbourhood, text: 'sokakta buyuk cukur var araclar zarar goruyor', position: 2 })
  t.equal(duplicateData(plan(submission({ location: { neighbourhood } }), { candidates: [weak, strong] })).duplicateOf, strong.caseId)

  const first = candidate({ caseId: '0c6f3a1e-1111-4a2b-8c3d-000000000006', neighbourhood, text: POTHOLE, position: 7 })
  const second = candidate({ caseId: '0c6f3a1e-1111-4a2b-8c3d-000000000007', neighbourhood, text: POTHOLE, position: 9 })
  t.equal(duplicateData(plan(submission({ location: { neighbourhood } }), { candidates: [second, first] })).duplicateOf, first.caseId)
})

t.test('never across categories, never without a category, never the case itself', async (t) => {
  const s = submission({ location: north(5) })
  t.equal(plan(s, { candidates: [candidate({ ...north(0), category: 'kaldirim' })] }).kind, 'routed', 'another category')
  const unplaced = submission({ description: 'Merhaba', location: north(5) })
  t.equal(plan(unplaced, { candidates: [candidate({ ...north(0), category: null })] }).kind, 'routed', 'no category on either side')
  t.equal(plan(s, { candidates: [candidate({ ...north(5), caseId: s.caseId })] }).kind, 'routed', 'itself')
})

t.test('an anonymous, unlocated-by-coordinates report still matches by neighbourhood and text', async (t) => {
  const earlier = candidate({ ...north(0), neighbourhood: 'Erzene Mh.', text: POTHOLE })
  const p = plan(submission({ location: { neighbourhood: 'ERZENE MAHALLESİ' } }), { candidates: [earlier] })
  t.equal(duplicateData(p).match, 'neighbourhood-text')
})

t.test('text helpers: trigram similarity, haversine', async (t) => {
  t.equal(textSimilarity(POTHOLE, 'sokakta buyuk cukur var araclar zarar goruyor') > 0.9, true, 'typed without Turkish letters')
  t.equal(textSimilarity('abc', 'abc'), 1)
  t.equal(textSimilarity('', 'abc'), 0)
  t.ok(textSimilarity('Çukurlar', 'çukur') > 0.5, 'suffixes keep most trigrams')
  t.ok(Math.abs(haversineMeters({ lat: 0, lon: 0 }, { lat: 1, lon: 0 }) - 111_195) < 1, 'one degree of latitude')
  t.ok(Math.abs(haversineMeters({ lat: 41.0082, lon: 28.9784 }, { lat: 39.9334, lon: 32.8597 }) - 350_000) < 5_000, 'İstanbul–Ankara about 350 km')
})

t.test('options out of range are refused', async (t) => {
  t.throws(() => plan(submission(), { options: { textSimilarity: 1.5 } }), RangeError)
  t.throws(() => plan(submission(), { options: { duplicateWindowHours: 0 } }), RangeError)
  t.throws(() => plan(submission(), { options: { duplicateRadiusMeters: -1 } }), RangeError)
})

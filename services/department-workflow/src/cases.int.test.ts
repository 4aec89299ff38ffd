import { randomUUID } from 'node:crypto'
import t from 'tap'
import { HOUR, T0, act, as, at, ayse, calendar, eventsOf, iso, revisionOf, seedCase, setup } from './test-support.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'

t.test('the roads flow: pothole accepted, citizen asked (clock paused), answered, resolved, closed; history lists it all', async (t) => {
  const env = setup(t, at(1))
  const { caseId, trackingCode } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0, citizen: ayse })

  const queue = await env.request('GET', '/v1/departments/fen-isleri/queue', as.fen)
  t.equal(queue.statusCode, 200)
  t.match(queue.json(), { department: { code: 'fen-isleri' }, cases: [{ caseId, trackingCode, status: 'routed', category: 'yol-cukur', kind: 'complaint', channel: 'call-center', dueAt: iso(48), msLeft: 47 * HOUR, paused: false, slaLevel: 'on-track', escalated: false, assignee: null, revision: 1 }] })

  const accepted = await env.request('POST', `/v1/cases/${caseId}/accept`, { ...as.fen, 'if-match': '"1"' }, {})
  t.equal(accepted.statusCode, 200, accepted.body)
  t.equal(accepted.headers.etag, '"2"')
  t.match(accepted.json(), { status: 'in_progress', assignee: 'ayse.fen', revision: 2, firstResponseAt: iso(1) })

  env.clock.set(at(2))
  const asked = await env.request('POST', `/v1/cases/${caseId}/request-info`, { ...as.fen, 'if-match': 'W/"2"' }, { question: 'Çukurun tam yeri hangi apartmanın önünde?' })
  t.equal(asked.statusCode, 200, asked.body)
  t.match(asked.json(), { status: 'waiting_for_citizen', openQuestion: 'Çukurun tam yeri hangi apartmanın önünde?', sla: { paused: true, msLeft: 46 * HOUR, dueAt: iso(48) } })

  // Ten hours of waiting on the citizen: the clock stands still, the due time moves with it.
  env.clock.set(at(12))
  const waiting = await env.request('GET', `/v1/cases/${caseId}`, as.fen)
  t.equal(waiting.statusCode, 200)
  t.match(waiting.json().sla, { paused: true, msLeft: 46 * HOUR, dueAt: iso(58), nominalDueAt: iso(48), pausedMs: 10 * HOUR, level: 'on-track' })
  const waitingQueue = (await env.request('GET', '/v1/departments/fen-isleri/queue', as.fen)).json()
  t.match(waitingQueue.cases, [{ caseId, status: 'waiting_for_citizen', paused: true, dueAt: iso(58), msLeft: 46 * HOUR }])

  const replied = await env.request('POST', `/v1/cases/${caseId}/citizen-reply`, { ...as.fen, 'if-match': '3' }, { text: '12 numaranın önünde.', channel: 'call-center' })
  t.equal(replied.statusCode, 200, replied.body)
  t.match(replied.json(), { status: 'in_progress', openQuestion: null, sla: { paused: false, dueAt: iso(58), nominalDueAt: iso(48), pauses: [{ pausedAt: iso(2), resumedAt: iso(12) }] } })

  env.clock.set(at(20))
  const resolved = await env.request('POST', `/v1/cases/${caseId}/resolve`, as.fen, { resolution: 'Çukur asfaltla kapatıldı.' })
  t.equal(resolved.statusCode, 200, resolved.body)
  t.match(resolved.json(), { status: 'resolved', resolution: 'Çukur asfaltla kapatıldı.', resolvedAt: iso(20) })
  t.same((await env.request('GET', '/v1/departments/fen-isleri/queue', as.fen)).json().cases, [], 'a resolved case leaves the queue')

  const closed = await env.request('POST', `/v1/cases/${caseId}/close`, as.fen)
  t.equal(closed.statusCode, 200, closed.body)
  t.equal(closed.headers.etag, '"6"')
  t.match(closed.json(), { status: 'closed', revision: 6 })
  t.same(
    closed.json().timeline.map((e: { step: string }) => e.step),
    ['submitted', 'routed', 'accepted', 'info-requested', 'citizen-replied', 'resolved', 'closed'],
  )

  const history = await env.request('GET', `/v1/cases/${caseId}/history`, as.auditor)
  t.equal(history.statusCode, 200)
  t.equal(history.headers.etag, '"6"')
  const events = history.json().events as Array<Record<string, unknown> & { actor: { id: string }; position: number; data: Record<string, unknown> }>
  t.same(
    events.map((e) => [e.revision, e.type, e.actor.id]),
    [
      [0, 'CaseSubmitted', 'alo153'],
      [1, 'CaseRouted', 'routing'],
      [2, 'CaseAccepted', 'ayse.fen'],
      [3, 'CitizenInfoRequested', 'ayse.fen'],
      [4, 'CitizenReplied', 'ayse.fen'],
      [5, 'CaseResolved', 'ayse.fen'],
      [6, 'CaseClosed', 'ayse.fen'],
    ],
  )
  t.ok(events.every((e, i) => i === 0 || e.position > (events[i - 1]?.position ?? Infinity)), 'positions increase')
  t.match(events[3], { occurredAt: iso(2), causationId: null, correlationId: /.+/, schemaVersion: 1, eventId: /^[0-9a-f-]{36}$/, recordedAt: /Z$/ })
  t.equal(events[0]?.data.citizen, undefined, 'auditors do not see the applicant')
  t.same(events[0]?.redacted, ['data.citizen', 'data.location.address'], 'nor their street address')
  t.same(events[0]?.data.location, { neighbourhood: 'Kazımdirik' }, 'the neighbourhood stays')
  t.notOk(history.body.includes('532 111 22 33'), 'no phone number in the auditor history')

  const supervisorHistory = (await env.request('GET', `/v1/cases/${caseId}/history`, as.supervisor)).json()
  t.same(supervisorHistory.events[0].data.citizen, ayse, 'supervisors see the applicant')

  const auditorView = await env.request('GET', `/v1/cases/${caseId}`, as.auditor)
  t.equal(auditorView.statusCode, 200)
  t.match(auditorView.json(), { personalDataRedacted: true, status: 'closed' })
  t.notOk(auditorView.body.includes('Ayşe'), 'no name in the auditor view')
  t.notOk(auditorView.body.includes('Şehit Öğretmen'), 'no street address in the auditor view')
  t.same(auditorView.json().submission.location, { neighbourhood: 'Kazımdirik' })
  const staffView = (await env.request('GET', `/v1/cases/${caseId}`, as.fen)).json()
  t.same(staffView.submission.citizen, ayse, 'the directorate sees how to reach the citizen')
  t.equal(staffView.submission.location.address, 'Şehit Öğretmen Sk. No:4', 'and where to go')
  t.equal(staffView.personalDataRedacted, false)
  t.equal((await env.request('GET', `/v1/cases/${caseId}/history`, as.fen)).statusCode, 403, 'staff do not read the audit history')
})

t.test('If-Match: a stale revision is 412 with the current one, and nothing is written', async (t) => {
  const env = setup(t, at(1))
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  const stale = await env.request('POST', `/v1/cases/${caseId}/accept`, { ...as.fen, 'if-match': '"0"' }, {})
  t.equal(stale.statusCode, 412)
  t.equal(stale.headers['content-type'], PROBLEM)
  t.equal(stale.headers.etag, '"1"')
  t.match(stale.json(), { code: 'precondition_failed', currentRevision: 1, detail: /revision 1/ })
  t.equal(await revisionOf(env.store, caseId), 1, 'store unchanged')

  const malformed = await env.request('POST', `/v1/cases/${caseId}/accept`, { ...as.fen, 'if-match': 'yesterday' }, {})
  t.equal(malformed.statusCode, 400)
  t.match(malformed.json(), { errors: [{ field: 'if-match' }] })

  const anyRevision = await env.request('POST', `/v1/cases/${caseId}/accept`, { ...as.fen, 'if-match': '*' }, {})
  t.equal(anyRevision.statusCode, 200)
  t.equal(anyRevision.headers.etag, '"2"')

  const current = await env.request('GET', `/v1/cases/${caseId}`, as.fen)
  t.equal(current.headers.etag, '"2"')
  const note = await env.request('POST', `/v1/cases/${caseId}/note`, { ...as.fen, 'if-match': current.headers.etag as string }, { text: 'Ekip yarın sabah gidecek.' })
  t.equal(note.statusCode, 200, 'the ETag of a GET is a valid If-Match')
  t.match(note.json(), { notes: [{ by: 'ayse.fen', text: 'Ekip yarın sabah gidecek.', at: iso(1) }] })
})

t.test('409 with the reason: accept twice, resolve a closed case, reply when nothing was asked', async (t) => {
  const env = setup(t, at(1))
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  t.equal((await env.request('POST', `/v1/cases/${caseId}/accept`, as.fen, {})).statusCode, 200)

  const twice = await env.request('POST', `/v1/cases/${caseId}/accept`, as.supervisor, {})
  t.equal(twice.statusCode, 409)
  t.equal(twice.headers['content-type'], PROBLEM)
  t.match(twice.json(), { code: 'conflict', reason: 'illegal_step', detail: 'cannot accept: the case is in progress; it was already accepted by ayse.fen' })

  const reply = await env.request('POST', `/v1/cases/${caseId}/citizen-reply`, as.fen, { text: 'Merhaba' })
  t.equal(reply.statusCode, 409)
  t.match(reply.json(), { reason: 'illegal_step', detail: /no question is open/ })

  t.equal((await env.request('POST', `/v1/cases/${caseId}/resolve`, as.fen, { resolution: 'Onarıldı.' })).statusCode, 200)
  t.equal((await env.request('POST', `/v1/cases/${caseId}/close`, as.fen, { reason: 'Vatandaş bilgilendirildi.' })).statusCode, 200)
  const before = await revisionOf(env.store, caseId)
  const resolveClosed = await env.request('POST', `/v1/cases/${caseId}/resolve`, as.fen, { resolution: 'Tekrar' })
  t.equal(resolveClosed.statusCode, 409)
  t.match(resolveClosed.json(), { reason: 'illegal_step', detail: 'cannot resolve: the case is closed' })
  t.equal(await revisionOf(env.store, caseId), before, 'nothing written by refused commands')

  // A closed case can be reopened, with a new clock from its category's SLA.
  env.clock.set(at(30))
  const reopened = await env.request('POST', `/v1/cases/${caseId}/reopen`, as.fen, { reason: 'Çukur yeniden açıldı.' })
  t.equal(reopened.statusCode, 200, reopened.body)
  t.match(reopened.json(), { status: 'routed', assignee: null, sla: { clock: 2, basis: 'category', startedAt: iso(30), dueAt: iso(78) } })
})

t.test('403 for staff of another directorate, without naming the one that holds the case; 401 without a token', async (t) => {
  const env = setup(t, at(1))
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  for (const [method, url, body] of [
    ['GET', `/v1/cases/${caseId}`, undefined],
    ['POST', `/v1/cases/${caseId}/accept`, {}],
    ['POST', `/v1/cases/${caseId}/note`, { text: 'bizim işimiz değil' }],
  ] as const) {
    const res = await env.request(method, url, as.temizlik, body)
    t.equal(res.statusCode, 403, `${method} ${url}`)
    t.equal(res.headers['content-type'], PROBLEM)
    t.match(res.json(), { code: 'forbidden', detail: /Only staff of the directorate that holds this case, and supervisors/ })
    t.equal(res.json().department, undefined, 'the holding directorate is not named')
    t.notMatch(res.body, /fen-isleri|Public Works|Fen/, 'not even in the text')
  }
  const queue = await env.request('GET', '/v1/departments/fen-isleri/queue', as.temizlik)
  t.equal(queue.statusCode, 403)
  const channel = await env.request('POST', `/v1/cases/${caseId}/accept`, as.channel, {})
  t.equal(channel.statusCode, 403, 'a channel adapter is no staff')
  const auditor = await env.request('POST', `/v1/cases/${caseId}/accept`, as.auditor, {})
  t.equal(auditor.statusCode, 403, 'auditors read, never act')

  for (const [method, url] of [
    ['GET', `/v1/cases/${caseId}`],
    ['POST', `/v1/cases/${caseId}/accept`],
    ['GET', '/v1/departments/fen-isleri/queue'],
    ['GET', '/v1/workflows'],
  ] as const) {
    const res = await env.request(method, url, {}, method === 'POST' ? {} : undefined)
    t.equal(res.statusCode, 401, `${method} ${url}`)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="civic-desk"')
  }
  t.equal(await revisionOf(env.store, caseId), 1, 'nothing written')
  const supervisor = await env.request('POST', `/v1/cases/${caseId}/accept`, as.supervisor, {})
  t.equal(supervisor.statusCode, 200, 'supervisors act on every directorate’s cases')
  t.match(supervisor.json(), { assignee: 'baskan.yardimcisi' })
})

t.test('400 for bad bodies, with nothing appended', async (t) => {
  const env = setup(t, at(1))
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  const bad: Array<[string, unknown, string]> = [
    ['note', {}, 'text'],
    ['note', { text: '   ' }, 'text'],
    ['note', { text: 'ok', priority: 'high' }, 'priority'],
    ['note', { text: 'x'.repeat(4001) }, 'text'],
    ['accept', { assignee: 'someone-else' }, 'assignee'],
    ['request-info', { question: 42 }, 'question'],
    ['citizen-reply', { text: 'tamam', channel: 'pigeon' }, 'channel'],
    ['transfer', { department: 'park-bahce' }, 'reason'],
    ['transfer', { department: 'uzay-ajansi', reason: 'yanlış birim' }, 'department'],
    ['transfer', { department: 'park-bahce', category: 'cop-toplama', reason: 'yanlış birim' }, 'category'],
    ['transfer', { department: 'Park Bahçe', reason: 'yanlış birim' }, 'department'],
    ['reject', { reasonCode: 'bored', reason: 'x' }, 'reasonCode'],
    ['resolve', { resolution: '' }, 'resolution'],
    ['resolve', { resolution: '\u200b\u200b' }, 'resolution'],
    ['note', { text: '\u0000\u0000' }, 'text'],
    ['request-info', { question: '\u2060 \u200b' }, 'question'],
    ['reject', { reasonCode: 'other', reason: '\ufeff' }, 'reason'],
    ['reopen', {}, 'reason'],
  ]
  for (const [action, body, field] of bad) {
    const res = await env.request('POST', `/v1/cases/${caseId}/${action}`, as.fen, body)
    t.equal(res.statusCode, 400, `${action} ${JSON.stringify(body).slice(0, 60)}`)
    t.equal(res.headers['content-type'], PROBLEM)
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `names ${field}: ${JSON.stringify(res.json().errors)}`)
  }
  const malformed = await env.app.inject({ method: 'POST', url: `/v1/cases/${caseId}/note`, headers: { ...as.fen, 'content-type': 'application/json' }, payload: '{"text": ' })
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.json().code, 'malformed_json')
  const plain = await env.app.inject({ method: 'POST', url: `/v1/cases/${caseId}/note`, headers: { ...as.fen, 'content-type': 'text/plain' }, payload: 'merhaba' })
  t.equal(plain.statusCode, 415)
  t.equal(await revisionOf(env.store, caseId), 1, 'nothing appended')
})

t.test('404 for an unknown case or department; 400 for a malformed case id', async (t) => {
  const env = setup(t, at(1))
  const unknown = randomUUID()
  for (const [method, url, headers] of [
    ['GET', `/v1/cases/${unknown}`, as.fen],
    ['GET', `/v1/cases/${unknown}/history`, as.auditor],
    ['POST', `/v1/cases/${unknown}/accept`, as.fen],
    ['POST', `/v1/cases/${unknown}/steps/karar`, as.sosyal],
    ['GET', '/v1/departments/uzay-ajansi/queue', as.supervisor],
  ] as const) {
    const res = await env.request(method, url, headers, method === 'POST' ? {} : undefined)
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.equal(res.headers['content-type'], PROBLEM)
    t.equal(res.json().code, 'not_found')
  }
  t.equal(await env.store.headPosition(), 0, 'an unknown case is not created by a command')
  const malformed = await env.request('GET', '/v1/cases/not-a-uuid', as.fen)
  t.equal(malformed.statusCode, 400)
  t.match(malformed.json(), { errors: [{ field: 'caseId' }] })
  const command = await env.request('POST', '/v1/cases/not-a-uuid/note', as.fen, { priority: 'high' })
  t.equal(command.statusCode, 400)
  t.same(command.json().errors, [{ field: 'caseId', message: 'must be a case id (a UUID)' }], 'the path is checked before the body')
  t.equal(command.json().detail, 'Invalid path parameters: caseId.')
  const step = await env.request('POST', `/v1/cases/${unknown}/steps/Karar Verildi`, as.sosyal, {})
  t.equal(step.statusCode, 400)
  t.match(step.json(), { code: 'validation_failed', errors: [{ field: 'step' }] })
})

t.test('a case id in upper case reads and acts on the same case', async (t) => {
  const env = setup(t, at(1))
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  const upper = caseId.toUpperCase()
  t.not(upper, caseId)
  const read = await env.request('GET', `/v1/cases/${upper}`, as.fen)
  t.equal(read.statusCode, 200, read.body)
  t.equal(read.json().caseId, caseId, 'answered with the id as stored')
  t.equal((await env.request('GET', `/v1/cases/${upper}/history`, as.auditor)).statusCode, 200)
  const accepted = await env.request('POST', `/v1/cases/${upper}/accept`, as.fen, {})
  t.equal(accepted.statusCode, 200, accepted.body)
  t.equal(await revisionOf(env.store, caseId), 2, 'appended to the one stream of the case')
  t.equal(await env.store.headPosition(), 3, 'no second stream was started')
})

t.test('a command whose body may be empty can leave it out, or send null', async (t) => {
  const env = setup(t, at(1))
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  const accepted = await env.app.inject({ method: 'POST', url: `/v1/cases/${caseId}/accept`, headers: as.fen })
  t.equal(accepted.statusCode, 200, accepted.body)
  t.match(accepted.json(), { assignee: 'ayse.fen' })
  const started = await env.app.inject({ method: 'POST', url: `/v1/cases/${caseId}/start`, headers: { ...as.fen, 'content-type': 'application/json' }, payload: 'null' })
  t.equal(started.statusCode, 200, started.body)
  const noText = await env.app.inject({ method: 'POST', url: `/v1/cases/${caseId}/note`, headers: as.fen })
  t.equal(noText.statusCode, 400)
  t.same(noText.json().errors, [{ field: 'text', message: 'Invalid input: expected string, received undefined' }], 'an absent body is checked as {}')
  t.equal(noText.json().detail, 'Invalid request body: text.')
})

t.test('transfer to park-bahce: leaves fen-isleri’s queue, joins park-bahce’s with clock 2 from the new category', async (t) => {
  const env = setup(t, at(1))
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  t.equal((await env.request('POST', `/v1/cases/${caseId}/accept`, as.fen, {})).statusCode, 200)
  env.clock.set(at(3))
  const same = await env.request('POST', `/v1/cases/${caseId}/transfer`, as.fen, { department: 'fen-isleri', reason: 'deneme' })
  t.equal(same.statusCode, 409)
  t.match(same.json(), { reason: 'same_department', detail: 'the case is already with fen-isleri' })

  const transferred = await env.request('POST', `/v1/cases/${caseId}/transfer`, as.fen, {
    department: 'park-bahce',
    category: 'agac-budama',
    reason: 'Kaldırımı ağaç kökleri kırmış; budama ve kök temizliği Park ve Bahçelerin işi.',
  })
  t.equal(transferred.statusCode, 200, transferred.body)
  t.match(transferred.json(), {
    status: 'routed',
    department: { code: 'park-bahce' },
    category: { code: 'agac-budama' },
    assignee: null,
    sla: { clock: 2, basis: 'category', deadline: { hours: 48 }, startedAt: iso(3), dueAt: iso(51), warned: false },
  })

  t.same((await env.request('GET', '/v1/departments/fen-isleri/queue', as.fen)).json().cases, [])
  const parkQueue = await env.request('GET', '/v1/departments/park-bahce/queue', as.park)
  t.equal(parkQueue.statusCode, 200)
  t.match(parkQueue.json().cases, [{ caseId, status: 'routed', category: 'agac-budama', dueAt: iso(51), msLeft: 48 * HOUR, revision: 3 }])
  const formerOwner = await env.request('GET', `/v1/cases/${caseId}`, as.fen)
  t.equal(formerOwner.statusCode, 403)
  t.equal(formerOwner.json().department, undefined, 'nor told where the case went')

  // Park ve Bahçeler find it is a green-area project: working days on the business calendar.
  t.equal((await env.request('POST', `/v1/cases/${caseId}/accept`, as.park, {})).statusCode, 200)
  const greenArea = await env.request('POST', `/v1/cases/${caseId}/transfer`, as.park, { department: 'zabita', reason: 'İşgal var, önce zabıta.' })
  t.equal(greenArea.statusCode, 200)
  t.match(greenArea.json(), { category: null, sla: { clock: 3, basis: 'municipal-promise', deadline: { hours: 48 }, dueAt: iso(51) } })
  const back = await env.request('POST', `/v1/cases/${caseId}/transfer`, as.supervisor, { department: 'park-bahce', category: 'yesil-alan', reason: 'Yeşil alan düzenlemesi.' })
  t.equal(back.statusCode, 200)
  t.match(back.json(), { sla: { clock: 4, deadline: { workingDays: 10 }, dueAt: calendar.dueAt(at(3), { workingDays: 10 }).toISOString() } })
  t.same((await eventsOf(env.store, caseId)).filter((e) => e.type === 'CaseTransferred').map((e) => e.actor.id), ['ayse.fen', 'elif.park', 'baskan.yardimcisi'])
})

t.test('queue: open cases of the department, most urgent first, time left negative when overdue', async (t) => {
  const env = setup(t, at(0))
  const overdue = await seedCase(env.store, { category: 'yol-cukur', routedAt: at(-50) }) // due at(-2)
  const later = await seedCase(env.store, { category: 'asfalt', routedAt: at(-10) }) // due at(38)
  const ice = await seedCase(env.store, { category: 'kar-buzlanma', routedAt: at(-1) }) // 24 h: due at(23)
  const paused = await seedCase(env.store, { category: 'kaldirim', routedAt: at(-30) })
  await act(env.store, paused.caseId, at(-29.5), (meta) => ({ type: 'AcceptCase', meta, data: { assignee: 'ayse.fen' } }))
  await act(env.store, paused.caseId, at(-29), (meta) => ({ type: 'RequestInfo', meta, data: { question: 'Fotoğraf gönderebilir misiniz?' } })) // 47 h left
  const done = await seedCase(env.store, { category: 'yol-cukur', routedAt: at(-5) })
  await act(env.store, done.caseId, at(-4), (meta) => ({ type: 'ResolveCase', meta, data: { resolution: 'Yapıldı.' } }))
  await seedCase(env.store, { category: 'cop-toplama', routedAt: at(-60) })

  const res = await env.request('GET', '/v1/departments/fen-isleri/queue', as.fen)
  t.equal(res.statusCode, 200)
  const cases = res.json().cases as Array<Record<string, unknown>>
  t.same(
    cases.map((c) => c.caseId),
    [overdue.caseId, ice.caseId, later.caseId, paused.caseId],
    'by time left; resolved and other directorates’ cases absent',
  )
  t.match(cases[0], { msLeft: -2 * HOUR, dueAt: iso(-2), slaLevel: 'breached', paused: false })
  t.match(cases[1], { msLeft: 23 * HOUR, dueAt: iso(23), slaLevel: 'on-track' })
  t.match(cases[2], { msLeft: 38 * HOUR, dueAt: iso(38), slaLevel: 'on-track' })
  t.match(cases[3], { msLeft: 47 * HOUR, dueAt: iso(47), paused: true, status: 'waiting_for_citizen', assignee: 'ayse.fen', revision: 3 })

  // Ten hours later the asphalt case passes 75 %, the ice case 100 %; the paused one keeps its time.
  env.clock.set(at(29))
  const later29 = (await env.request('GET', '/v1/departments/fen-isleri/queue', as.supervisor)).json().cases as Array<Record<string, unknown>>
  t.same(later29.map((c) => c.caseId), [overdue.caseId, ice.caseId, later.caseId, paused.caseId])
  t.match(later29[1], { msLeft: -6 * HOUR, slaLevel: 'breached' })
  t.match(later29[2], { msLeft: 9 * HOUR, slaLevel: 'warning' })
  t.match(later29[3], { msLeft: 47 * HOUR, dueAt: iso(76), paused: true })
})

t.test('GET /v1/workflows serves the definitions; readiness reports the projection', async (t) => {
  const env = setup(t)
  const res = await env.request('GET', '/v1/workflows', as.sosyal)
  t.equal(res.statusCode, 200)
  t.match(res.json(), { version: 1, workflows: [{ code: 'sosyal-yardim-incelemesi', department: 'sosyal-destek', steps: [{ code: 'ev-ziyareti-planlandi' }, {}, {}, {}] }] })
  t.equal((await env.request('GET', '/v1/workflows', as.channel)).statusCode, 403)
  const ready = await env.request('GET', '/readyz', as.operator)
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready', details: { projectionPosition: 0, eventStoreHead: 0 } })
})

t.test("a staff command records the caller's x-request-id as clientRequestId, never as the correlation id", async (t) => {
  const env = setup(t, at(1))
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0, citizen: ayse })
  const accepted = await env.request('POST', `/v1/cases/${caseId}/accept`, { ...as.fen, 'x-request-id': 'AUDIT-FORGED-ID' }, {})
  t.equal(accepted.statusCode, 200, accepted.body)
  const history = (await env.request('GET', `/v1/cases/${caseId}/history`, as.auditor)).json()
  const event = history.events.find((e: { type: string }) => e.type === 'CaseAccepted')
  t.equal(event.correlationId, accepted.headers['x-correlation-id'], 'the server-made id, as sent back')
  t.not(event.correlationId, 'AUDIT-FORGED-ID')
  t.equal(event.clientRequestId, 'AUDIT-FORGED-ID', "the caller's id, apart and visible to auditors")
  t.equal(history.events[0].clientRequestId, undefined, 'events stored without one still decode and show none')
})

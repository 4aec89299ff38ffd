// The citizen's look-up by tracking code does not depend on how many internal notes staff wrote:
// the case is read without them (the store never even hands them over), so a case with the most
// notes answers exactly as it did with none.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { DEFAULT_CASE_LIMITS, type CaseCommand } from '@civic-desk/case-domain'
import { caseStreamId, encodeCaseEvent, executeOnCase } from '@civic-desk/case-feed'
import type { CaseEvent } from '@civic-desk/contracts'
import { openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { createAccessControl, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue } from '@civic-desk/service-kit'
import { buildIntakeApp } from './app.ts'

const catalogue = loadCatalogue(defaultCatalogueFile)
const logger = createLogger({ level: 'silent', name: 'public-lookup-test' })
const access = createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code)))
const T0 = new Date('2026-11-20T09:15:00.000Z')

t.test('the public look-up answers the same for a case with no notes and with the most notes, and never reads them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-public-lookup-'))
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  // The real store, watched: which event types it handed to the look-up.
  const handedOver: string[] = []
  const watched: EventStore = new Proxy(store, {
    get(target, property) {
      if (property !== 'readStream') return Reflect.get(target, property)
      return async (...args: Parameters<EventStore['readStream']>) => {
        const records = await target.readStream(...args)
        handedOver.push(...records.map((r) => r.type))
        return records
      }
    },
  })
  const app = await buildIntakeApp({ store: watched, catalogue, access, logger, trackingKey: Buffer.alloc(32, 9), now: () => T0 })
  t.teardown(async () => {
    await app.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const submitted = await app.inject({
    method: 'POST',
    url: '/v1/requests',
    headers: { authorization: 'Bearer dev-channel' },
    payload: { channel: 'call-center', externalId: 'alo153-notes-1', kind: 'complaint', category: 'yol-cukur', description: 'Sokakta büyük bir çukur var.', citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33' } },
  })
  t.equal(submitted.statusCode, 201)
  const { caseId, trackingCode } = submitted.json<{ caseId: string; trackingCode: string }>()
  const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000).toISOString()
  const act = (minutes: number, command: (meta: CaseCommand['meta']) => CaseCommand) =>
    executeOnCase(store, caseId, () => command({ eventId: randomUUID(), occurredAt: at(minutes), actor: { kind: 'staff', id: 'ayse.fen' }, correlationId: 'test', causationId: null }))
  await act(1, (meta) => ({
    type: 'RouteCase',
    meta,
    data: { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'category', matchedKeywords: [], sla: { clock: 1, startedAt: at(1), deadline: { hours: 48 }, basis: 'category', dueAt: at(48 * 60 + 1) }, legalDueAt: null },
  }))
  await act(2, (meta) => ({ type: 'AcceptCase', meta, data: { assignee: 'ayse.fen' } }))

  const lookup = () => app.inject({ method: 'GET', url: `/v1/requests/${trackingCode}` })
  const without = await lookup()
  t.equal(without.statusCode, 200)
  t.match(without.json(), { status: 'in_progress', updatedAt: at(2) })

  // As many notes of the longest kind as a case may hold (appended straight to the store: 4,000 characters each).
  const text = 'Ekip sahada; asfalt ekibi bekleniyor. '.repeat(110).slice(0, 4000)
  const notes: CaseEvent[] = Array.from({ length: DEFAULT_CASE_LIMITS.maxNotes }, (_, i) => ({
    eventId: randomUUID(),
    type: 'CaseNoteAdded',
    schemaVersion: 1,
    occurredAt: at(3 + i),
    actor: { kind: 'staff', id: 'ayse.fen' },
    correlationId: 'test',
    causationId: null,
    data: { text },
  }))
  await store.append(caseStreamId(caseId), notes.map(encodeCaseEvent), { expectedRevision: 2 })
  t.equal((await store.readStream(caseStreamId(caseId))).length, 3 + DEFAULT_CASE_LIMITS.maxNotes)

  handedOver.length = 0
  const withNotes = await lookup()
  t.equal(withNotes.statusCode, 200)
  t.equal(withNotes.body, without.body, 'the same answer, byte for byte: internal notes are not part of it, not even in updatedAt')
  t.same(handedOver, ['CaseSubmitted', 'CaseRouted', 'CaseAccepted'], 'the store handed over no note')
})

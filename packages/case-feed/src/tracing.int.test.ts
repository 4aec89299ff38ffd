// The trace of an event is continued by store groups (standalone mode: no bus in between): the
// handler runs in a child span of the event's `traceparent`, and what it appends carries the trace.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createMemoryEventStore } from '@civic-desk/event-store'
import { createMemoryBus } from '@civic-desk/messaging'
import { currentTrace, runInTrace, type TraceContext } from '@civic-desk/tracing'
import { encodeCaseEvent } from './codec.ts'
import { createCaseFeed } from './feed.ts'
import { caseStreamId } from './stream.ts'
import { caseEvent, silentLogger, tempDir, waitFor } from './testing.ts'

t.test('a store group handles each event in its trace; events appended meanwhile record it', async (t) => {
  const store = createMemoryEventStore()
  const feed = createCaseFeed({ store, bus: createMemoryBus(), logger: silentLogger, groups: { kind: 'store', checkpointDir: tempDir(t) } })
  t.teardown(() => feed.close())
  const traced = randomUUID()
  const untraced = randomUUID()
  const request: TraceContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true }
  // Appended while "handling a request": the codec records the request's span.
  await runInTrace(request, () => store.append(caseStreamId(traced), [caseEvent(traced, 0)], { expectedRevision: 'no_stream' }))
  await store.append(caseStreamId(untraced), [caseEvent(untraced, 0)], { expectedRevision: 'no_stream' })

  const seen = new Map<string, TraceContext | undefined>()
  await feed.consume({
    groupId: 'g',
    handle: async (event) => {
      if (event.revision === 0) {
        seen.set(event.caseId, currentTrace())
        const note = encodeCaseEvent({ eventId: randomUUID(), schemaVersion: 1, occurredAt: '2026-11-20T09:16:00.000Z', actor: { kind: 'service', id: 'g' }, correlationId: 'c', causationId: event.event.eventId, type: 'CaseNoteAdded', data: { text: 'handled' } })
        await store.append(event.streamId, [note], { expectedRevision: 0 })
      }
    },
  })
  await waitFor(() => seen.size === 2, 5000, 'both cases handled')
  await feed.close() // waits for the handlers in flight: their appends are done

  const [submitted, note] = await store.readStream(caseStreamId(traced))
  t.equal((submitted?.metadata as { traceparent?: string }).traceparent, `00-${request.traceId}-${request.spanId}-01`, "the first event names the request's span")
  const handling = seen.get(traced)
  t.equal(handling?.traceId, request.traceId, 'the handler runs in the trace')
  t.not(handling?.spanId, request.spanId, 'in a span of its own')
  t.equal((note?.metadata as { traceparent?: string }).traceparent, `00-${request.traceId}-${handling?.spanId}-01`, "what it appends names the handler's span")

  const [, untracedNote] = await store.readStream(caseStreamId(untraced))
  const fresh = seen.get(untraced)
  t.match(fresh?.traceId, /^[0-9a-f]{32}$/, 'an event without a trace (stored before it existed) is handled in a new one')
  t.not(fresh?.traceId, request.traceId)
  t.equal((untracedNote?.metadata as { traceparent?: string }).traceparent?.slice(3, 35), fresh?.traceId)
})

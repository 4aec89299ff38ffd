// bench/erasure.ts (run by pnpm bench:privacy, or alone with tsx) — the KVKK erasure of every case
// of one person, on the standalone's real files: a SQLite event log, key store and destruction log in
// a fresh folder. Writes BENCH_ERASURE_CASES (10,000) sealed submissions from one phone number, then
// times finding them (subject index), the erasure (log entry, keys destroyed, one PersonalDataErased
// per case, entry completed) and the start-up check a restart does afterwards.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { caseIdOfStream, caseStreamId } from '@civic-desk/case-feed'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { completePendingErasures, erasePersonalData, newMasterKeyText, openSqliteDestructionLog, openSqliteKeyStore, parseMasterKey, sealingEventStore } from '@civic-desk/privacy'

const cases = Number(process.env.BENCH_ERASURE_CASES ?? 10_000)
const phone = '+905551234567'
const dir = mkdtempSync(join(tmpdir(), 'civic-bench-erasure-'))
const say = (text: string): void => void process.stderr.write(`${text}\n`)

try {
  const log = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const keys = openSqliteKeyStore({ file: join(dir, 'keys.sqlite'), masterKey: parseMasterKey(newMasterKeyText()) })
  const destructions = openSqliteDestructionLog(join(dir, 'destructions.sqlite'))
  const store = sealingEventStore(log, keys, { caseIdOf: caseIdOfStream })

  let started = performance.now()
  for (let i = 0; i < cases; i += 1) {
    const caseId = randomUUID()
    const eventId = randomUUID()
    await store.append(
      caseStreamId(caseId),
      [
        {
          id: eventId,
          type: 'CaseSubmitted',
          data: {
            caseId,
            trackingCode: `BNCH-${String(i).padStart(4, '0')}-XXX`,
            channel: 'call-center',
            kind: 'complaint',
            description: `Başvuru ${i}: sokağımızdaki çöpler toplanmıyor, kapımın önü koku içinde.`,
            location: { neighbourhood: 'Kızılay', address: `Gül Sokak No ${i}`, lat: 39.92, lon: 32.85 },
            citizen: { name: 'Tekrar Eden Başvurucu', phone, preferredChannel: 'sms' },
            receivedAt: new Date().toISOString(),
          },
          metadata: { schemaVersion: 1, occurredAt: new Date().toISOString(), actor: { kind: 'channel', id: 'bench' }, correlationId: eventId, causationId: null },
        },
      ],
      { expectedRevision: 'no_stream' },
    )
    if ((i + 1) % 2000 === 0) say(`  written ${i + 1}/${cases} sealed submissions`)
  }
  const writeMs = performance.now() - started

  started = performance.now()
  const found = await keys.casesOf({ kind: 'phone', value: '0555 123 45 67' })
  const findMs = performance.now() - started

  started = performance.now()
  let reported = 0
  const result = await erasePersonalData(
    { keys, log: destructions, store },
    {
      reason: 'erasure-request',
      legalBasis: 'KVKK m.7, m.11/1-e',
      requestReference: 'BENCH-KVKK-1',
      actor: { id: 'bench', role: 'privacy-officer' },
      caseIds: found,
      fields: ['başvuru sahibinin iletişim bilgileri'],
    },
    {
      correlationId: 'bench-erasure',
      onProgress: (done, total) => {
        if (done - reported >= 2000 || done === total) {
          reported = done
          say(`  erased ${done}/${total}`)
        }
      },
    },
  )
  const eraseMs = performance.now() - started

  started = performance.now()
  const check = await completePendingErasures({ keys, log: destructions, store })
  const checkMs = performance.now() - started

  await Promise.all([log.close(), keys.close(), destructions.close()])
  const f = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 })
  process.stdout.write(
    [
      `bench:erasure — ${f(cases)} cases of one person, SQLite files (standalone)`,
      `  writing them sealed      ${f(writeMs)} ms (${f(cases / (writeMs / 1000))} submissions/s, one append each)`,
      `  finding them by phone    ${f(findMs)} ms (${f(found.length)} cases)`,
      `  erasing them             ${f(eraseMs)} ms: ${f(result.outcome.destroyed.length)} keys destroyed, ${f(result.recorded.length)} PersonalDataErased events, entry ${result.entry.id}`,
      `  start-up check after it  ${f(checkMs)} ms (${check.entries} destruction-log entry, ${check.keysDestroyedAgain} keys to destroy again)`,
      '',
    ].join('\n'),
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}

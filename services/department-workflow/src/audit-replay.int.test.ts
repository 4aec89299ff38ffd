// `pnpm audit:replay` as an auditor runs it: a case worked through a real SQLite store with sealed
// personal data (submit → route → accept → transfer → info request → citizen reply → resolve), then
// the command run as a child process on that store, whole, as of three instants, by tracking code,
// without the keys, and with a bad or unknown reference or instant.
// The clock is the real one: the cut is the store's `recordedAt`, which the store sets itself.
import { execFile } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { trackingCodeFromBytes } from '@civic-desk/case-domain'
import { caseIdOfStream, caseStreamId, decodeCaseEvent } from '@civic-desk/case-feed'
import { categoryByCode } from '@civic-desk/contracts'
import { openPostgresEventStore, openSqliteEventStore, type RecordedEvent } from '@civic-desk/event-store'
import { dropSchema, postgresTestUrl, testSchema } from '@civic-desk/event-store/testing'
import { erasePersonalData, newMasterKeyText, openConfiguredPrivacy, sealingEventStore } from '@civic-desk/privacy'
import { NO_KEY_TEXT, durationTr } from './audit-timeline.ts'
import { act, ayse, calendar, catalogue, seedCase } from './test-support.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = fileURLToPath(new URL('./audit-replay-cli.ts', import.meta.url))

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the command with only the environment given (no CIVIC_* of the shell leaks in). */
function replay(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CIVIC_') && k !== 'INIT_CWD'))
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, env: { ...base, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr })
    })
  })
}

/** Waits until the clock has moved on, so the instants before and after differ. */
async function tick(): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 20))
  const at = new Date().toISOString()
  await new Promise((resolve) => setTimeout(resolve, 20))
  return at
}

/** Istanbul time written out independently of the code under test: UTC+3 all year since 2016. */
function istanbul(iso: string): string {
  const d = new Date(Date.parse(iso) + 3 * 3_600_000)
  const two = (n: number): string => String(n).padStart(2, '0')
  return `${two(d.getUTCDate())}.${two(d.getUTCMonth() + 1)}.${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`
}

/** The closing paragraph of a printed timeline. */
const summaryOf = (stdout: string): string => stdout.split('\n').find((line) => line.startsWith('Özet (')) ?? ''
/** The printed step of one revision: its three lines. */
const stepOf = (stdout: string, revision: number): string => {
  const lines = stdout.split('\n')
  const i = lines.findIndex((line) => line.startsWith(`#${revision}  `))
  return i < 0 ? '' : lines.slice(i, i + 3).join('\n')
}

t.test('audit:replay prints a worked case in Turkish, whole and as of three instants', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-audit-replay-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const masterKey = newMasterKeyText()
  const privacy = await openConfiguredPrivacy({ masterKey }, { dataDir: dir })
  const inner = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const store = sealingEventStore(inner, privacy.keys, { caseIdOf: caseIdOfStream })

  const { caseId, trackingCode } = await seedCase(store, { category: 'yol-cukur', routedAt: new Date(), citizen: ayse })
  await act(store, caseId, new Date(), (meta) => ({ type: 'AcceptCase', meta, data: { assignee: 'ayse.fen' } }))
  await act(store, caseId, new Date(), (meta) => ({ type: 'AddNote', meta, data: { text: 'Park alanında, bizim işimiz değil.' } }))
  const park = categoryByCode(catalogue, 'park-bakim')
  if (park === undefined) throw new Error('no park-bakim in the catalogue')
  const transferAt = new Date()
  const transferDue = calendar.dueAt(transferAt, park.sla)
  await act(store, caseId, transferAt, (meta) => ({
    type: 'TransferCase',
    meta,
    data: { toDepartment: 'park-bahce', category: 'park-bakim', reason: 'Park içinde; Park ve Bahçeler bakar.', sla: { startedAt: transferAt.toISOString(), deadline: park.sla, basis: 'category', dueAt: transferDue.toISOString() } },
  }))
  const afterTransfer = await tick()
  await act(store, caseId, new Date(), (meta) => ({ type: 'AcceptCase', meta, data: { assignee: 'elif.park' } }), 'elif.park')
  await act(store, caseId, new Date(), (meta) => ({ type: 'RequestInfo', meta, data: { question: 'Hangi salıncak kırık?' } }), 'elif.park')
  const whileWaiting = await tick()
  await act(store, caseId, new Date(), (meta) => ({ type: 'RecordCitizenReply', meta, data: { text: 'Girişteki ikinci salıncak.', channel: 'call-center' } }), 'elif.park')
  await act(store, caseId, new Date(), (meta) => ({ type: 'ResolveCase', meta, data: { resolution: 'Salıncak değiştirildi.' } }), 'elif.park')
  const afterResolution = await tick()
  const recorded: RecordedEvent[] = await inner.readStream(caseStreamId(caseId))
  t.same(
    recorded.map((r) => r.type),
    ['CaseSubmitted', 'CaseRouted', 'CaseAccepted', 'CaseNoteAdded', 'CaseTransferred', 'CaseAccepted', 'CitizenInfoRequested', 'CitizenReplied', 'CaseResolved'],
    'the case as worked',
  )
  t.notOk(JSON.stringify(recorded).includes('Ayşe'), 'the personal data is sealed in the store')
  // A second case, whose applicant had its personal data erased (KVKK): its data key is destroyed.
  const gone = await seedCase(store, { category: 'yol-cukur', routedAt: new Date(), citizen: ayse, description: 'Evimin önündeki çukur.' })
  await act(store, gone.caseId, new Date(), (meta) => ({ type: 'AddNote', meta, data: { text: 'Ayşe Hanım aradı.' } }))
  await erasePersonalData(
    { keys: privacy.keys, log: privacy.log, store },
    { reason: 'erasure-request', legalBasis: 'KVKK m.7', requestReference: gone.trackingCode, actor: { id: 'kvkk.sorumlusu', role: 'privacy-officer' }, caseIds: [gone.caseId], fields: ['ad', 'açıklama'] },
    { correlationId: 'test' },
  )
  await store.close()
  await privacy.close()
  const storeFile = join(dir, 'events.sqlite')
  const withKey = { CIVIC_MASTER_KEY: masterKey }

  t.test('the whole timeline, with the personal data opened', async (t) => {
    const run = await replay([caseId, '--store', storeFile], withKey)
    t.equal(run.code, 0, run.stderr)
    const out = run.stdout
    t.match(out, `Başvuru ${trackingCode} — vaka ${caseId}`)
    t.match(out, 'Kişisel veriler: anahtarla açıldı')
    // The channel handed the request in a minute before it was recorded (seedCase): both times shown.
    const submitted = decodeCaseEvent(recorded[0]!)
    t.match(stepOf(out, 0), `#0  ${istanbul(recorded[0]!.recordedAt)} (olay zamanı ${istanbul(submitted.occurredAt)})  kanal alo153`, 'when in Istanbul time, who in Turkish')
    t.match(stepOf(out, 2), `#2  ${istanbul(recorded[2]!.recordedAt)}  personel ayse.fen`, 'no second time when the two agree')
    t.match(stepOf(out, 0), 'Başvuru alındı: şikâyet, Alo 153 çağrı merkezi kanalından')
    t.match(stepOf(out, 0), 'Konu: “Sokağımızda büyük bir çukur var, araçlar zarar görüyor.”')
    t.match(stepOf(out, 0), 'Başvuran: “Ayşe Yılmaz”', 'opened with the key')
    t.match(stepOf(out, 0), 'SLA: süre henüz başlamadı')
    t.match(stepOf(out, 1), 'servis: yönlendirme servisi')
    t.match(stepOf(out, 1), 'Fen İşleri Müdürlüğüne (fen-isleri) yönlendirildi (kategoriye göre, Yol çukuru ve yol hasarı (yol-cukur))')
    t.match(stepOf(out, 1), /SLA: 1\. süre, son tarih \d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d, kalan .+, işliyor\./)
    t.match(stepOf(out, 2), 'personel ayse.fen')
    t.match(stepOf(out, 2), 'Fen İşleri Müdürlüğü (fen-isleri) adına ayse.fen tarafından kabul edildi')
    t.match(stepOf(out, 3), 'İç not eklendi: “Park alanında, bizim işimiz değil.”')
    t.match(stepOf(out, 4), 'Fen İşleri Müdürlüğü (fen-isleri) tarafından Park ve Bahçeler Müdürlüğüne (park-bahce) devredildi')
    t.match(stepOf(out, 4), `gerekçe “Park içinde; Park ve Bahçeler bakar.”; 2. SLA süresi başladı`)
    t.match(stepOf(out, 4), `son tarih ${istanbul(transferDue.toISOString())}`)
    t.match(stepOf(out, 6), 'personel elif.park')
    t.match(stepOf(out, 6), 'Vatandaştan bilgi istendi: “Hangi salıncak kırık?”')
    t.match(stepOf(out, 6), /SLA: 2\. süre, .*DURDURULDU \(vatandaştan bilgi bekleniyor\)/)
    t.match(stepOf(out, 7), 'Vatandaş yanıt verdi (Alo 153 çağrı merkezi): “Girişteki ikinci salıncak.”')
    t.match(stepOf(out, 7), /SLA: 2\. süre, .*, işliyor\./)
    t.match(stepOf(out, 8), 'Çözüldü; vatandaşa verilen yanıt: “Salıncak değiştirildi.”')
    t.match(stepOf(out, 8), 'SLA: 2. süre durdu (başvuru sonuçlandı)')
    const summary = summaryOf(out)
    t.match(summary, `${trackingCode} takip kodlu başvurunun durumu "Çözüldü"; sorumlu birim Park ve Bahçeler Müdürlüğü (park-bahce); üzerinde çalışan elif.park.`)
    t.match(summary, 'Revizyon 8 (akıştaki son olay #8, 9 olay)')
  })

  t.test('as of three instants: three states, each with its SLA clock', async (t) => {
    const first = await replay([caseId, '--store', storeFile, '--as-of', afterTransfer], withKey)
    t.equal(first.code, 0, first.stderr)
    t.match(first.stdout, `${istanbul(afterTransfer)} itibarıyla (${afterTransfer})`)
    t.match(stepOf(first.stdout, 4), 'devredildi')
    t.equal(stepOf(first.stdout, 5), '', 'nothing recorded after the instant')
    const firstSummary = summaryOf(first.stdout)
    t.match(firstSummary, `Özet (${istanbul(afterTransfer)} itibarıyla)`)
    t.match(firstSummary, 'durumu "Yönlendirildi"; sorumlu birim Park ve Bahçeler Müdürlüğü (park-bahce); henüz kimse üstlenmedi.')
    t.match(firstSummary, `SLA: 2. süre, son tarih ${istanbul(transferDue.toISOString())}, kalan ${durationTr(transferDue.getTime() - Date.parse(afterTransfer))}, işliyor.`)
    t.match(firstSummary, 'Revizyon 4 (akıştaki son olay #4, 5 olay)')

    // By tracking code, typed as a person might: lower case, no dashes.
    const typed = trackingCode.toLowerCase().replaceAll('-', '')
    const second = await replay([typed, '--store', storeFile, '--as-of', whileWaiting], withKey)
    t.equal(second.code, 0, second.stderr)
    t.match(second.stdout, `Başvuru ${trackingCode} — vaka ${caseId}`, 'the tracking code leads to the case')
    t.equal(stepOf(second.stdout, 7), '')
    const secondSummary = summaryOf(second.stdout)
    t.match(secondSummary, 'durumu "Vatandaştan bilgi bekleniyor"; sorumlu birim Park ve Bahçeler Müdürlüğü (park-bahce); üzerinde çalışan elif.park.')
    t.match(secondSummary, 'Açık soru: “Hangi salıncak kırık?” SLA: 2. süre')
    t.match(secondSummary, 'DURDURULDU (vatandaştan bilgi bekleniyor)')
    t.match(secondSummary, 'Revizyon 6 (akıştaki son olay #6, 7 olay)')

    const third = await replay([caseId, '--store', storeFile, '--as-of', afterResolution], withKey)
    t.equal(third.code, 0, third.stderr)
    const thirdSummary = summaryOf(third.stdout)
    t.match(thirdSummary, 'durumu "Çözüldü"; sorumlu birim Park ve Bahçeler Müdürlüğü (park-bahce); üzerinde çalışan elif.park.')
    t.match(thirdSummary, 'SLA: 2. süre durdu (başvuru sonuçlandı)')
    t.match(thirdSummary, 'Revizyon 8')
    t.not(firstSummary, secondSummary)
  })

  t.test('without the master key the personal fields read as sealed, and nothing is created', async (t) => {
    const run = await replay([caseId, '--store', storeFile])
    t.equal(run.code, 0, run.stderr)
    t.match(run.stdout, `Kişisel veriler: ana anahtar veya anahtar deposu yok`)
    t.match(stepOf(run.stdout, 0), `Başvuran: ${NO_KEY_TEXT}`)
    t.match(stepOf(run.stdout, 3), `İç not eklendi: ${NO_KEY_TEXT}`)
    t.notOk(run.stdout.includes('Ayşe'), 'no applicant without the key')
    t.notOk(run.stdout.includes('salıncak kırık'), 'no question without the key')
    t.match(summaryOf(run.stdout), 'durumu "Çözüldü"', 'the case itself still reads whole')
    t.notOk(existsSync(join(dir, 'master.key')), 'no master key was made up')

    const wrongKey = await replay([caseId, '--store', storeFile], { CIVIC_MASTER_KEY: newMasterKeyText() })
    t.equal(wrongKey.code, 0, 'another installation’s master key: shown without the personal data, no crash')
    t.match(wrongKey.stderr, 'uyarı: anahtar deposu açılamadı, kişisel veriler gösterilmeyecek')
    t.match(stepOf(wrongKey.stdout, 0), `Başvuran: ${NO_KEY_TEXT}`)
  })

  t.test('an erased case reads erased, with the key and without it', async (t) => {
    for (const env of [withKey, {}]) {
      const run = await replay([gone.trackingCode, '--store', storeFile], env)
      t.equal(run.code, 0, run.stderr)
      t.match(run.stdout, 'Kişisel veriler: silindi (KVKK)')
      t.match(stepOf(run.stdout, 0), 'Konu: [kişisel veri silindi].')
      t.match(stepOf(run.stdout, 0), 'Başvuran: [kişisel veri silindi].')
      t.match(stepOf(run.stdout, 2), 'İç not eklendi: [kişisel veri silindi].')
      t.match(stepOf(run.stdout, 3), `Kişisel veriler silindi (KVKK): ilgili kişinin silme talebi üzerine; yasal dayanak: KVKK m.7; talep: ${gone.trackingCode}; silinen veriler: ad, açıklama`)
      t.match(summaryOf(run.stdout), / Kişisel veriler \d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d tarihinde silindi \(KVKK\)\.$/)
      t.notOk(run.stdout.includes('Ayşe') || run.stdout.includes('Evimin'), 'nothing erased comes back')
      t.notOk(run.stdout.includes(NO_KEY_TEXT), 'erased, not merely unread')
    }
  })

  t.test('the default store is the standalone one: events.sqlite in CIVIC_DATA_DIR', async (t) => {
    const run = await replay([trackingCode], { ...withKey, CIVIC_DATA_DIR: dir })
    t.equal(run.code, 0, run.stderr)
    t.match(run.stdout, `Olay deposu: sqlite ${storeFile}`)
    t.match(stepOf(run.stdout, 0), 'Başvuran: “Ayşe Yılmaz”')
  })

  t.test('an unknown case, a bad reference, a bad instant, an instant before the case', async (t) => {
    const unknownId = randomUUID()
    const unknownCase = await replay([unknownId, '--store', storeFile])
    t.equal(unknownCase.code, 1)
    t.match(unknownCase.stderr, `böyle bir başvuru yok: vaka id ${unknownId} bu olay deposunda kayıtlı değil`)
    t.equal(unknownCase.stdout, '')

    const code = trackingCodeFromBytes(randomBytes(8))
    const unknownCode = await replay([code, '--store', storeFile])
    t.equal(unknownCode.code, 1)
    t.match(unknownCode.stderr, `böyle bir başvuru yok: takip kodu ${code}`)

    const mistyped = await replay(['K7MA-4PXR-9TA', '--store', storeFile])
    t.equal(mistyped.code, 2)
    t.match(mistyped.stderr, 'ne bir takip kodu ne de bir vaka id: takip kodu kontrol karakteri tutmuyor')

    const malformed = await replay([caseId, '--store', storeFile, '--as-of', '2026-03-03 14:05'])
    t.equal(malformed.code, 2)
    t.match(malformed.stderr, '--as-of "2026-03-03 14:05" geçerli bir an değil')
    t.equal(malformed.stdout, '')

    const future = await replay([caseId, '--store', storeFile, '--as-of', new Date(Date.now() + 3_600_000).toISOString()])
    t.equal(future.code, 2)
    t.match(future.stderr, 'gelecekte')

    const before = new Date(Date.parse(recorded[0]!.recordedAt) - 60_000).toISOString()
    const tooEarly = await replay([caseId, '--store', storeFile, '--as-of', before])
    t.equal(tooEarly.code, 1)
    t.match(tooEarly.stderr, `vaka id ${caseId} ${istanbul(before)} itibarıyla henüz yoktu; ilk olayı ${istanbul(recorded[0]!.recordedAt)} tarihinde kaydedildi`)
    t.equal(tooEarly.stdout, '')

    const none = await replay([])
    t.equal(none.code, 2)
    t.match(none.stderr, 'kullanım / usage: pnpm audit:replay <takip kodu | vaka id>')

    const unknownOption = await replay([caseId, '--asof', afterTransfer])
    t.equal(unknownOption.code, 2)
    t.match(unknownOption.stderr, 'kullanım / usage')

    const missingStore = await replay([caseId, '--store', join(dir, 'yok.sqlite')])
    t.equal(missingStore.code, 2)
    t.match(missingStore.stderr, `olay deposu bulunamadı: ${join(dir, 'yok.sqlite')} yok`)
  })
})

const postgresUrl = await postgresTestUrl(t)
if (postgresUrl !== undefined) {
  const connectionString = postgresUrl
  void t.test('postgres: --store names the server and its schema; the keys are in <schema>_privacy', async (t) => {
    const schema = testSchema(t, connectionString)
    t.teardown(() => dropSchema(connectionString, `${schema}_privacy`))
    const dir = mkdtempSync(join(tmpdir(), 'civic-audit-replay-pg-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const masterKey = newMasterKeyText()
    const privacy = await openConfiguredPrivacy({ masterKey, pgUrl: connectionString, pgSchema: schema }, { dataDir: dir })
    const inner = await openPostgresEventStore({ connectionString, schema })
    const store = sealingEventStore(inner, privacy.keys, { caseIdOf: caseIdOfStream })
    const { caseId, trackingCode } = await seedCase(store, { category: 'yol-cukur', routedAt: new Date(), citizen: ayse })
    await act(store, caseId, new Date(), (meta) => ({ type: 'AcceptCase', meta, data: { assignee: 'ayse.fen' } }))
    await store.close()
    await privacy.close()
    const location = new URL(connectionString)
    location.searchParams.set('schema', schema)

    const run = await replay([trackingCode, '--store', location.toString()], { CIVIC_MASTER_KEY: masterKey })
    t.equal(run.code, 0, run.stderr)
    t.match(run.stdout, `(şema ${schema})`)
    t.match(stepOf(run.stdout, 0), 'Başvuran: “Ayşe Yılmaz”')
    t.match(summaryOf(run.stdout), 'durumu "Üzerinde çalışılıyor"; sorumlu birim Fen İşleri Müdürlüğü (fen-isleri); üzerinde çalışan ayse.fen.')
    const keyless = await replay([trackingCode, '--store', location.toString()])
    t.equal(keyless.code, 0, keyless.stderr)
    t.match(stepOf(keyless.stdout, 0), `Başvuran: ${NO_KEY_TEXT}`)
  })
}

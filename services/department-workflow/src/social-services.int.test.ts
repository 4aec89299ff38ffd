import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { WorkflowConfigError } from '@civic-desk/contracts'
import { T0, as, at, ayse, catalogue, eventsOf, revisionOf, seedCase, setup, type Env } from './test-support.ts'
import { defaultWorkflowFile, loadWorkflows } from './workflows.ts'

async function acceptedAidCase(env: Env): Promise<string> {
  const { caseId } = await seedCase(env.store, { category: 'sosyal-yardim', routedAt: T0, kind: 'request', channel: 'walk-in', citizen: ayse, description: 'Eşim vefat etti, üç çocuğumla geçinemiyorum; gıda yardımı istiyorum.' })
  const accepted = await env.request('POST', `/v1/cases/${caseId}/accept`, as.sosyal, {})
  if (accepted.statusCode !== 200) throw new Error(accepted.body)
  return caseId
}

const step = (env: Env, caseId: string, code: string, fields: Record<string, unknown>) =>
  env.request('POST', `/v1/cases/${caseId}/steps/${code}`, as.sosyal, { fields })

const nextCodes = (view: { workflow: { nextSteps: Array<{ code: string }> } | null }) => view.workflow?.nextSteps.map((s) => s.code)

t.test('social assistance: home visit → investigation → decision (approved, food parcel) → aid delivered resolves the case', async (t) => {
  const env = setup(t, at(2))
  const caseId = await acceptedAidCase(env)

  const opened = (await env.request('GET', `/v1/cases/${caseId}`, as.sosyal)).json()
  t.equal(opened.workflow.definition.code, 'sosyal-yardim-incelemesi')
  t.same(nextCodes(opened), ['ev-ziyareti-planlandi'])

  const early = await step(env, caseId, 'karar', { outcome: 'onaylandi', aidType: 'gida-kolisi' })
  t.equal(early.statusCode, 409, 'out of order')
  t.match(early.json(), { reason: 'illegal_step', detail: /next possible: "ev-ziyareti-planlandi"/, nextSteps: ['ev-ziyareti-planlandi'] })

  const accepted = await revisionOf(env.store, caseId)
  // Days that do not exist: Date.parse would have rolled them into March.
  for (const visitDate of ['2026-02-30', '2026-02-29', '2026-04-31', '2026-13-01', '2026-11-00']) {
    const impossible = await step(env, caseId, 'ev-ziyareti-planlandi', { visitDate })
    t.equal(impossible.statusCode, 400, visitDate)
    t.equal(impossible.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.match(impossible.json(), { errors: [{ field: 'fields.visitDate', message: /date that exists/ }] }, visitDate)
  }
  t.equal(await revisionOf(env.store, caseId), accepted, 'nothing appended for an impossible date')
  const visit = await step(env, caseId, 'ev-ziyareti-planlandi', { visitDate: '2026-11-25', socialWorker: 'Zeynep Kaya' })
  t.equal(visit.statusCode, 200, visit.body)
  t.match(visit.json(), { status: 'in_progress', steps: [{ workflow: 'sosyal-yardim-incelemesi', step: 'ev-ziyareti-planlandi', fields: { visitDate: '2026-11-25', socialWorker: 'Zeynep Kaya' }, at: at(2).toISOString() }] })
  t.same(nextCodes(visit.json()), ['inceleme-tamamlandi'])

  const before = await revisionOf(env.store, caseId)
  for (const findings of ['\u200b\u200b', '\u0000']) {
    const invisible = await step(env, caseId, 'inceleme-tamamlandi', { findings, householdSize: 4 })
    t.equal(invisible.statusCode, 400, JSON.stringify(findings))
    t.match(invisible.json().errors, [{ field: 'fields.findings' }])
  }
  t.equal(await revisionOf(env.store, caseId), before, 'nothing appended')
  const missing = await step(env, caseId, 'inceleme-tamamlandi', { findings: 'Kirada oturuyor, düzenli geliri yok.', monthlyIncome: 'az' })
  t.equal(missing.statusCode, 400)
  t.same(
    [...missing.json().errors].sort((a: { field: string }, b: { field: string }) => a.field.localeCompare(b.field)),
    [
      { field: 'fields.householdSize', message: 'is required (Household size)' },
      { field: 'fields.monthlyIncome', message: 'must be a whole number ≥ 0' },
    ],
  )
  t.equal(await revisionOf(env.store, caseId), before, 'nothing appended')

  t.equal((await step(env, caseId, 'inceleme-tamamlandi', { findings: 'Kirada oturuyor, düzenli geliri yok.', householdSize: 4, monthlyIncome: 6500 })).statusCode, 200)
  const noAid = await step(env, caseId, 'karar', { outcome: 'onaylandi' })
  t.equal(noAid.statusCode, 400)
  t.match(noAid.json(), { errors: [{ field: 'fields.aidType', message: /required/ }] })

  const approved = await step(env, caseId, 'karar', { outcome: 'onaylandi', aidType: 'gida-kolisi' })
  t.equal(approved.statusCode, 200, approved.body)
  t.match(approved.json(), { status: 'in_progress', resolution: null })
  t.same(nextCodes(approved.json()), ['yardim-teslim-edildi'])

  const delivered = await step(env, caseId, 'yardim-teslim-edildi', { deliveredOn: '2026-12-01', note: 'Koli kapıda teslim edildi.' })
  t.equal(delivered.statusCode, 200, delivered.body)
  const view = delivered.json()
  t.equal(view.status, 'resolved')
  t.equal(view.resolution, 'Başvurunuz onaylanmış ve yardımınız (Gıda kolisi) 1 Aralık 2026 tarihinde teslim edilmiştir.')
  t.same(nextCodes(view), [])
  t.same(
    view.timeline.slice(-5).map((e: { textTr: string }) => e.textTr),
    [
      'Ev ziyareti planlandı',
      'Sosyal inceleme tamamlandı',
      'Karar verildi',
      'Yardım teslim edildi',
      'Başvurunuz sonuçlandı: Başvurunuz onaylanmış ve yardımınız (Gıda kolisi) 1 Aralık 2026 tarihinde teslim edilmiştir.',
    ],
  )
  t.same(
    (await eventsOf(env.store, caseId)).slice(3).map((e) => e.type),
    ['WorkflowStepRecorded', 'WorkflowStepRecorded', 'WorkflowStepRecorded', 'WorkflowStepRecorded', 'CaseResolved'],
  )
  const again = await step(env, caseId, 'yardim-teslim-edildi', { deliveredOn: '2026-12-02' })
  t.equal(again.statusCode, 409, 'a resolved case takes no more steps')
})

t.test('social assistance declined: the decision with outcome reddedildi and a reason resolves at once', async (t) => {
  const env = setup(t, at(2))
  const caseId = await acceptedAidCase(env)
  t.equal((await step(env, caseId, 'ev-ziyareti-planlandi', { visitDate: '2026-11-25' })).statusCode, 200)
  t.equal((await step(env, caseId, 'inceleme-tamamlandi', { findings: 'Hanede iki çalışan var.', householdSize: 3, monthlyIncome: 85000 })).statusCode, 200)

  const noReason = await step(env, caseId, 'karar', { outcome: 'reddedildi' })
  t.equal(noReason.statusCode, 400)
  t.match(noReason.json(), { errors: [{ field: 'fields.reason' }] })

  const declined = await step(env, caseId, 'karar', { outcome: 'reddedildi', reason: 'Hane geliri yardım sınırının üzerinde.' })
  t.equal(declined.statusCode, 200, declined.body)
  t.match(declined.json(), {
    status: 'resolved',
    resolution: 'Sosyal inceleme sonucunda başvurunuz uygun görülmemiştir. Gerekçe: Hane geliri yardım sınırının üzerinde.',
  })
  const deliver = await step(env, caseId, 'yardim-teslim-edildi', { deliveredOn: '2026-12-01' })
  t.equal(deliver.statusCode, 409)
})

t.test('steps: no workflow for the category → 409; not accepted yet → 409; unknown step → 400', async (t) => {
  const env = setup(t, at(2))
  const { caseId: pothole } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  t.equal((await env.request('POST', `/v1/cases/${pothole}/accept`, as.fen, {})).statusCode, 200)
  const noWorkflow = await env.request('POST', `/v1/cases/${pothole}/steps/karar`, as.fen, { fields: { outcome: 'onaylandi' } })
  t.equal(noWorkflow.statusCode, 409)
  t.match(noWorkflow.json(), { reason: 'no_workflow', detail: /category yol-cukur/ })
  t.equal((await env.request('GET', `/v1/cases/${pothole}`, as.fen)).json().workflow, null)

  const { caseId: routed } = await seedCase(env.store, { category: 'sosyal-yardim', routedAt: T0 })
  const notAccepted = await step(env, routed, 'ev-ziyareti-planlandi', { visitDate: '2026-11-25' })
  t.equal(notAccepted.statusCode, 409)
  t.match(notAccepted.json(), { detail: /accept it first/ })
  t.same(nextCodes((await env.request('GET', `/v1/cases/${routed}`, as.sosyal)).json()), [], 'no step may be recorded before acceptance')

  const caseId = await acceptedAidCase(env)
  const unknown = await step(env, caseId, 'uzaya-gonderildi', {})
  t.equal(unknown.statusCode, 400)
  t.match(unknown.json(), { errors: [{ field: 'step', message: /its steps are: ev-ziyareti-planlandi/ }] })
  const badCode = await env.request('POST', `/v1/cases/${caseId}/steps/Karar%20Verildi`, as.sosyal, { fields: {} })
  t.equal(badCode.statusCode, 400)
  const badBody = await env.request('POST', `/v1/cases/${caseId}/steps/ev-ziyareti-planlandi`, as.sosyal, { visitDate: '2026-11-25' })
  t.equal(badBody.statusCode, 400, 'fields go inside "fields"')
  t.match(badBody.json(), { errors: [{ field: 'visitDate', message: 'Unknown field' }] })
  const fen = await step({ ...env, request: (m, u, _h, p) => env.request(m, u, as.fen, p) }, caseId, 'ev-ziyareti-planlandi', { visitDate: '2026-11-25' })
  t.equal(fen.statusCode, 403, 'only the directorate records its steps')
})

t.test('workflow files: the shipped one loads; an invalid one fails listing every problem', async (t) => {
  const loaded = loadWorkflows(defaultWorkflowFile, catalogue)
  t.same(loaded.workflows.map((w) => w.code), ['sosyal-yardim-incelemesi'])

  const dir = mkdtempSync(join(tmpdir(), 'civic-workflows-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'workflows.json')
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      workflows: [
        {
          code: 'park-bakimi',
          department: 'park-bahce',
          nameTr: 'Park bakımı',
          nameEn: 'Park maintenance',
          categories: ['yol-cukur'],
          steps: [
            { code: 'kesif', nameTr: 'Keşif', nameEn: 'Survey', after: null, fields: [{ name: 'date', labelTr: 'Tarih', labelEn: 'Date', type: 'date' }] },
            { code: 'bitti', nameTr: 'Bitti', nameEn: 'Done', after: 'onay', fields: [] },
          ],
        },
      ],
    }),
  )
  const error = t.throws(() => loadWorkflows(file, catalogue)) as unknown
  t.ok(error instanceof WorkflowConfigError)
  const problems = (error as WorkflowConfigError).problems
  t.same(
    problems.map((p) => p.path),
    ['workflows[0].categories[0]', 'workflows[0].steps[1].after', 'workflows[0].steps'],
  )
  t.match((error as Error).message, new RegExp(`${file.replaceAll('\\', '\\\\')} is not a valid workflow file:[\\s\\S]*"yol-cukur" belongs to fen-isleri, not park-bahce[\\s\\S]*"onay" must be a step listed before this one[\\s\\S]*at least one step must resolve`))

  writeFileSync(file, '{ "version": 1, ')
  t.throws(() => loadWorkflows(file, catalogue), { name: 'WorkflowConfigError', message: /not valid JSON/ })
  t.throws(() => loadWorkflows(join(dir, 'missing.json'), catalogue), { message: /Cannot read the workflow file .*missing\.json: ENOENT/ })
})

import { CALENDAR_ZONE } from '@civic-desk/calendar'
import { isCalendarDate, isInstantWithOffset, textProblem, type StepFieldValue, type Workflow, type WorkflowField, type WorkflowStep } from '@civic-desk/contracts'
import { CaseRuleViolation } from './violation.ts'

/** A workflow step recorded on a case, with its fields as recorded. */
export interface RecordedStep {
  readonly workflow: string
  readonly step: string
  readonly fields: Readonly<Record<string, StepFieldValue>>
  readonly at: string
}

/** A step that may be recorded, with its fields normalised and the resolution it triggers, if any. */
export interface CheckedStep {
  readonly step: WorkflowStep
  readonly fields: Record<string, StepFieldValue>
  readonly resolution: { readonly tr: string; readonly en: string } | null
}

function parseField(field: WorkflowField, raw: unknown): { ok: true; value: StepFieldValue } | { ok: false; message: string } {
  switch (field.type) {
    case 'text': {
      if (typeof raw !== 'string' || raw.trim() === '') return { ok: false, message: 'must be a non-empty text' }
      if (raw.length > 4000) return { ok: false, message: 'must be at most 4000 characters' }
      const problem = textProblem(raw)
      if (problem !== undefined) return { ok: false, message: problem }
      return { ok: true, value: raw.trim() }
    }
    case 'date':
      // A day that exists: Date.parse would roll 2026-02-30 over into March.
      if (typeof raw !== 'string' || !isCalendarDate(raw)) {
        return { ok: false, message: 'must be a date that exists, like 2026-11-24' }
      }
      return { ok: true, value: raw }
    case 'datetime':
      if (typeof raw !== 'string' || !isInstantWithOffset(raw)) {
        return { ok: false, message: 'must be a date and time with an offset, like 2026-11-24T10:00:00+03:00' }
      }
      return { ok: true, value: raw }
    case 'integer':
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0) return { ok: false, message: 'must be a whole number ≥ 0' }
      return { ok: true, value: raw }
    case 'boolean':
      if (typeof raw !== 'boolean') return { ok: false, message: 'must be true or false' }
      return { ok: true, value: raw }
    case 'choice': {
      const options = field.options ?? []
      if (typeof raw !== 'string' || !options.some((o) => o.value === raw)) {
        return { ok: false, message: `must be one of: ${options.map((o) => o.value).join(', ')}` }
      }
      return { ok: true, value: raw }
    }
    default: {
      const unknownType: never = field.type
      return unknownType
    }
  }
}

// Dates in a sentence read as people write them ("12 Aralık 2026", "12 December 2026"). A date field
// is a day, not an instant, so it is formatted in UTC where its midnight falls on that very day; a
// datetime is shown in Istanbul time, the municipality's.
const DAY_FORMATS = {
  tr: new Intl.DateTimeFormat('tr-TR', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }),
  en: new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }),
} as const
const TIME_FORMATS = {
  tr: new Intl.DateTimeFormat('tr-TR', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: CALENDAR_ZONE }),
  en: new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: CALENDAR_ZONE }),
} as const

/** A date or datetime field's value as words of the language; anything else as recorded. */
function formatValue(field: WorkflowField | undefined, value: StepFieldValue, language: 'tr' | 'en'): string {
  if (typeof value === 'string' && field?.type === 'date' && isCalendarDate(value)) return DAY_FORMATS[language].format(new Date(`${value}T00:00:00Z`))
  if (typeof value === 'string' && field?.type === 'datetime' && isInstantWithOffset(value)) return TIME_FORMATS[language].format(new Date(value))
  return String(value)
}

function label(field: WorkflowField | undefined, value: StepFieldValue | undefined, language: 'tr' | 'en'): string {
  if (value === undefined) return ''
  const option = field?.options?.find((o) => o.value === value)
  if (option !== undefined) return language === 'tr' ? option.labelTr : option.labelEn
  if (typeof value === 'boolean') return language === 'tr' ? (value ? 'evet' : 'hayır') : value ? 'yes' : 'no'
  return formatValue(field, value, language)
}

/**
 * Fills `{field}`, `{field.label}`, `{step.field}` and `{step.field.label}` placeholders from this
 * step's fields and the steps recorded before it.
 */
function fill(
  text: string,
  workflow: Workflow,
  step: WorkflowStep,
  fields: Record<string, StepFieldValue>,
  previous: readonly RecordedStep[],
  language: 'tr' | 'en',
): string {
  return text.replace(/\{([a-zA-Z0-9.-]+)\}/g, (whole, path: string) => {
    const parts = path.split('.')
    const asLabel = parts.length > 1 && parts.at(-1) === 'label'
    if (asLabel) parts.pop()
    if (parts.length > 2) return whole
    const [stepCode, name] = parts.length === 2 ? [parts[0], parts[1]!] : [undefined, parts[0]!]
    const source = stepCode === undefined ? step : workflow.steps.find((s) => s.code === stepCode)
    const values = stepCode === undefined ? fields : previous.findLast((r) => r.step === stepCode)?.fields
    const value = values?.[name]
    const field = source?.fields.find((f) => f.name === name)
    return asLabel || field?.type === 'choice' ? label(field, value, language) : value === undefined ? '' : formatValue(field, value, language)
  })
}

/**
 * Checks that `stepCode` may follow the steps recorded so far and that its fields fit the
 * definition. Order problems are `illegal_step` (409); field problems `invalid_step_fields` (400).
 */
export function checkStep(
  workflow: Workflow,
  stepCode: string,
  raw: Readonly<Record<string, unknown>>,
  recorded: readonly RecordedStep[],
): CheckedStep {
  const step = workflow.steps.find((s) => s.code === stepCode)
  if (step === undefined) {
    throw new CaseRuleViolation(
      'invalid_step_fields',
      `workflow ${workflow.code} has no step "${stepCode}"; its steps are: ${workflow.steps.map((s) => s.code).join(', ')}`,
    )
  }
  const done = new Set(recorded.map((r) => r.step))
  const last = recorded.at(-1)?.step ?? null
  if (done.has(step.code)) throw new CaseRuleViolation('illegal_step', `step "${step.code}" (${step.nameEn}) was already recorded`)
  if (step.after !== last) {
    const expected = workflow.steps.filter((s) => s.after === last && !done.has(s.code)).map((s) => `"${s.code}"`)
    throw new CaseRuleViolation(
      'illegal_step',
      `step "${step.code}" comes after ${step.after === null ? 'the start' : `"${step.after}"`}, but the last recorded step is ${last === null ? 'none' : `"${last}"`}` +
        (expected.length > 0 ? `; next possible: ${expected.join(', ')}` : ''),
    )
  }
  if (step.when !== undefined) {
    const value = recorded.findLast((r) => r.step === step.when?.step)?.fields[step.when.field]
    if (value !== step.when.equals) {
      throw new CaseRuleViolation('illegal_step', `step "${step.code}" needs ${step.when.step}.${step.when.field} = ${String(step.when.equals)}, recorded: ${String(value ?? 'nothing')}`)
    }
  }
  const errors: { field: string; message: string }[] = []
  const fields: Record<string, StepFieldValue> = {}
  for (const name of Object.keys(raw)) {
    if (!step.fields.some((f) => f.name === name)) errors.push({ field: name, message: `step "${step.code}" has no such field` })
  }
  for (const field of step.fields) {
    const value = raw[field.name]
    if (value === undefined || value === null || value === '') continue
    const parsed = parseField(field, value)
    if (parsed.ok) fields[field.name] = parsed.value
    else errors.push({ field: field.name, message: parsed.message })
  }
  for (const field of step.fields) {
    const required = field.required || (field.requiredWhen !== undefined && fields[field.requiredWhen.field] === field.requiredWhen.equals)
    if (required && fields[field.name] === undefined && !errors.some((e) => e.field === field.name)) {
      errors.push({ field: field.name, message: `is required (${field.labelEn})` })
    }
  }
  if (errors.length > 0) {
    throw new CaseRuleViolation('invalid_step_fields', `the fields of step "${step.code}" are not valid`, errors)
  }
  const resolves = step.resolves
  const resolution =
    resolves === undefined || (resolves.when !== undefined && fields[resolves.when.field] !== resolves.when.equals)
      ? null
      : { tr: fill(resolves.resolutionTr, workflow, step, fields, recorded, 'tr'), en: fill(resolves.resolutionEn, workflow, step, fields, recorded, 'en') }
  return { step, fields, resolution }
}

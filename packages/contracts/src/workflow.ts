import { z } from 'zod'
import { CatalogueCodeSchema, departmentByCode, categoryByCode, formatCataloguePath, type Catalogue } from './catalogue.ts'

const Name = z.string().trim().min(1, { error: 'must not be empty' })
const FieldName = z.string().regex(/^[a-z][a-zA-Z0-9]*$/, { error: 'must be camelCase, e.g. "visitDate"' })

/** A condition on a field value: `{ field: "outcome", equals: "approved" }`. */
const FieldCondition = z.strictObject({ field: FieldName, equals: z.union([z.string(), z.boolean(), z.number()]) })

/** One input of a workflow step, as staff fill it in. */
export const WorkflowFieldSchema = z.strictObject({
  name: FieldName,
  labelTr: Name,
  labelEn: Name,
  type: z.enum(['text', 'date', 'datetime', 'integer', 'boolean', 'choice']),
  /** For `choice`: the allowed values with their labels. */
  options: z.array(z.strictObject({ value: CatalogueCodeSchema, labelTr: Name, labelEn: Name })).min(2).optional(),
  required: z.boolean().default(false),
  /** Required only when another field of the same step has this value. */
  requiredWhen: FieldCondition.optional(),
})
export type WorkflowField = z.infer<typeof WorkflowFieldSchema>

/** One step of a directorate's own workflow. */
export const WorkflowStepSchema = z.strictObject({
  code: CatalogueCodeSchema,
  nameTr: Name,
  nameEn: Name,
  /** The step that must have been recorded before this one; null for the first step after the application. */
  after: CatalogueCodeSchema.nullable(),
  /** Only allowed when a field of an earlier step had this value (e.g. aid delivered only when approved). */
  when: z.strictObject({ step: CatalogueCodeSchema, field: FieldName, equals: z.union([z.string(), z.boolean(), z.number()]) }).optional(),
  fields: z.array(WorkflowFieldSchema).default([]),
  /**
   * Recording this step answers the case: it is resolved with this text (placeholders `{field}`
   * and `{field.label}` are filled from the step's fields). With `when`, only if that field matches.
   */
  resolves: z
    .strictObject({ when: FieldCondition.optional(), resolutionTr: Name, resolutionEn: Name })
    .optional(),
})
export type WorkflowStep = z.infer<typeof WorkflowStepSchema>

/** The steps a directorate runs for some of its categories, after a case is accepted. */
export const WorkflowSchema = z.strictObject({
  code: CatalogueCodeSchema,
  department: CatalogueCodeSchema,
  nameTr: Name,
  nameEn: Name,
  /** Categories the workflow applies to; all categories of the department when absent. */
  categories: z.array(CatalogueCodeSchema).min(1).optional(),
  steps: z.array(WorkflowStepSchema).min(1),
})
export type Workflow = z.infer<typeof WorkflowSchema>

export const WorkflowFileSchema = z.strictObject({
  version: z.literal(1, { error: 'must be 1 (the only workflow file format so far)' }),
  workflows: z.array(WorkflowSchema),
})
export type WorkflowFile = z.infer<typeof WorkflowFileSchema>

/** A workflow file that does not hold together, with every problem found. */
export class WorkflowConfigError extends Error {
  override readonly name = 'WorkflowConfigError'
  constructor(
    readonly source: string,
    readonly problems: readonly { readonly path: string; readonly message: string }[],
  ) {
    super(`${source} is not a valid workflow file:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`)
  }
}

/**
 * Parses and cross-checks workflow definitions against the catalogue, so a mistake fails at
 * start with every problem listed, never in the middle of a citizen's case.
 */
export function validateWorkflows(raw: unknown, catalogue: Catalogue, source = 'workflow file'): WorkflowFile {
  const parsed = WorkflowFileSchema.safeParse(raw)
  if (!parsed.success) {
    throw new WorkflowConfigError(
      source,
      parsed.error.issues.map((i) => ({ path: formatCataloguePath(i.path), message: i.message })),
    )
  }
  const problems: { path: string; message: string }[] = []
  const problem = (path: string, message: string) => problems.push({ path, message })
  const claimed = new Map<string, string>()
  const codes = new Set<string>()
  parsed.data.workflows.forEach((wf, w) => {
    const at = `workflows[${w}]`
    if (codes.has(wf.code)) problem(`${at}.code`, `"${wf.code}" is used by another workflow`)
    codes.add(wf.code)
    if (departmentByCode(catalogue, wf.department) === undefined) problem(`${at}.department`, `no department "${wf.department}" in the catalogue`)
    const categories = wf.categories ?? catalogue.categories.filter((c) => c.department === wf.department).map((c) => c.code)
    wf.categories?.forEach((code, i) => {
      const category = categoryByCode(catalogue, code)
      if (category === undefined) problem(`${at}.categories[${i}]`, `no category "${code}" in the catalogue`)
      else if (category.department !== wf.department) problem(`${at}.categories[${i}]`, `"${code}" belongs to ${category.department}, not ${wf.department}`)
    })
    for (const code of categories) {
      const other = claimed.get(code)
      if (other !== undefined) problem(`${at}.categories`, `category "${code}" already has workflow "${other}"`)
      claimed.set(code, wf.code)
    }
    const seen = new Map<string, WorkflowStep>()
    wf.steps.forEach((step, s) => {
      const sp = `${at}.steps[${s}]`
      if (seen.has(step.code)) problem(`${sp}.code`, `"${step.code}" appears twice`)
      if (step.after !== null && !seen.has(step.after)) problem(`${sp}.after`, `"${step.after}" must be a step listed before this one`)
      if (step.when !== undefined) {
        const earlier = seen.get(step.when.step)
        const field = earlier?.fields.find((f) => f.name === step.when?.field)
        if (earlier === undefined) problem(`${sp}.when.step`, `"${step.when.step}" must be a step listed before this one`)
        else if (field === undefined) problem(`${sp}.when.field`, `step "${earlier.code}" has no field "${step.when.field}"`)
        else checkValue(field, step.when.equals, `${sp}.when.equals`, problem)
      }
      const names = new Set<string>()
      step.fields.forEach((field, f) => {
        const fp = `${sp}.fields[${f}]`
        if (names.has(field.name)) problem(`${fp}.name`, `"${field.name}" appears twice`)
        names.add(field.name)
        if ((field.type === 'choice') !== (field.options !== undefined)) problem(`${fp}.options`, 'list options for a choice field, and only for one')
      })
      const conditions = [
        ...step.fields.flatMap((f, i) => (f.requiredWhen === undefined ? [] : [{ c: f.requiredWhen, path: `${sp}.fields[${i}].requiredWhen` }])),
        ...(step.resolves?.when === undefined ? [] : [{ c: step.resolves.when, path: `${sp}.resolves.when` }]),
      ]
      for (const { c, path } of conditions) {
        const field = step.fields.find((f) => f.name === c.field)
        if (field === undefined) problem(`${path}.field`, `this step has no field "${c.field}"`)
        else checkValue(field, c.equals, `${path}.equals`, problem)
      }
      seen.set(step.code, step)
    })
    const resolving = wf.steps.filter((s) => s.resolves !== undefined)
    if (resolving.length === 0) problem(`${at}.steps`, 'at least one step must resolve the case (give it "resolves")')
  })
  if (problems.length > 0) throw new WorkflowConfigError(source, problems)
  return parsed.data
}

function checkValue(field: WorkflowField, value: string | boolean | number, path: string, problem: (path: string, message: string) => void): void {
  if (field.type === 'choice' && !field.options?.some((o) => o.value === value)) {
    problem(path, `"${String(value)}" is not one of the options of "${field.name}"`)
  } else if (field.type === 'boolean' && typeof value !== 'boolean') problem(path, `"${field.name}" is a yes/no field: use true or false`)
}

/** The workflow that applies to a category, if any. */
export function workflowForCategory(file: WorkflowFile, catalogue: Catalogue, category: string | null): Workflow | undefined {
  if (category === null) return undefined
  const department = categoryByCode(catalogue, category)?.department
  return file.workflows.find((wf) => (wf.categories === undefined ? wf.department === department : wf.categories.includes(category)))
}

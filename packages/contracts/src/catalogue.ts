/**
 * The service catalogue: which directorates (müdürlük) a municipality has, which request
 * categories each one answers, the keywords that route free text to a category, and the
 * deadline (SLA) that starts when a case is routed. Municipalities edit it as JSON
 * (`infra/catalogue/catalogue.json`); `validateCatalogue` is the single gate it passes.
 */
import { z } from 'zod'

const KEBAB_CASE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/

/** A catalogue code: kebab-case ASCII (`fen-isleri`, `yol-cukur`), stable once cases use it. */
export const CatalogueCodeSchema = z
  .string()
  .regex(KEBAB_CASE, { error: 'must be kebab-case: lower-case a-z, digits and single hyphens (e.g. "fen-isleri")' })

/** Code of a directorate (müdürlük), e.g. `fen-isleri`. */
export const DepartmentCodeSchema = CatalogueCodeSchema
/** Code of a request category, e.g. `yol-cukur`. */
export const CategoryCodeSchema = CatalogueCodeSchema

const NameSchema = z.string().trim().min(1, { error: 'must not be empty' })

const positiveWhole = z.number().int({ error: 'must be a whole number' }).positive({ error: 'must be greater than 0' })

// One mailbox, no display name, no list: a directorate's supervisors are reached through one
// address (a group mailbox or distribution list of the mail server), never parsed as several.
const SINGLE_EMAIL = /^[^\s@,;:<>()[\]"\\]+@[^\s@,;:<>()[\]"\\]+\.[^\s@,;:<>()[\]"\\]+$/u

/**
 * Where a directorate's supervisors hear of escalations, breaches and the daily list of overdue
 * cases: an e-mail address, a webhook (a chat or SMS gateway that takes a JSON POST), or both.
 */
export const SupervisorContactSchema = z
  .strictObject({
    email: z.string().regex(SINGLE_EMAIL, { error: 'must be one e-mail address, e.g. "fen-amirler@belediye.bel.tr"' }).optional(),
    webhook: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  })
  .refine((c) => c.email !== undefined || c.webhook !== undefined, { error: 'give an "email", a "webhook" or both' })
  .readonly()

/** A directorate of the municipality. */
export const DepartmentSchema = z
  .strictObject({
    code: DepartmentCodeSchema,
    nameTr: NameSchema,
    nameEn: NameSchema,
    /** Who is told of escalations and overdue cases; without it the directorate's supervisors only see the queue. */
    supervisors: SupervisorContactSchema.optional(),
  })
  .readonly()

/**
 * How long the municipality gives itself for a category: wall-clock `hours` (the 48-hour
 * promise) or `workingDays` (weekends and public holidays do not count; the holiday
 * calendar is data supplied elsewhere).
 */
export const SlaSchema = z.union(
  [
    z.strictObject({ hours: positiveWhole }).readonly(),
    z.strictObject({ workingDays: positiveWhole }).readonly(),
  ],
  { error: 'must be either { "hours": n } or { "workingDays": n } with a whole number n > 0' },
)

/**
 * How long the personal data of a case is kept after the case is closed (KVKK art. 7 and the
 * Regulation on the Erasure, Destruction or Anonymisation of Personal Data: kept no longer than the
 * purpose needs, then destroyed at the next periodic destruction): whole `years` or `months`.
 * A category may set its own; otherwise the catalogue's `personalDataRetention` applies, and
 * without that `DEFAULT_PERSONAL_DATA_RETENTION` (2 years).
 */
export const RetentionSchema = z.union(
  [
    z.strictObject({ years: positiveWhole.max(30, { error: 'at most 30 years (a longer period is almost surely a typo)' }) }).readonly(),
    z.strictObject({ months: positiveWhole.max(360, { error: 'at most 360 months (a longer period is almost surely a typo)' }) }).readonly(),
  ],
  { error: 'must be either { "years": n } or { "months": n } with a whole number n > 0' },
)

/** The retention of personal data when neither the category nor the catalogue sets one. */
export const DEFAULT_PERSONAL_DATA_RETENTION = { years: 2 } as const satisfies z.infer<typeof RetentionSchema>

/** Which statute, if any, fixes the outer limit of a category's deadline. */
export const LegalDeadlineKindSchema = z.enum(['cimer', 'information', 'kvkk'])

/**
 * A keyword used to route free text: lower-case by Turkish rules ("I" → "ı", "İ" → "i"),
 * no surrounding spaces. Inflected forms are listed separately ("çukur", "çukuru").
 */
export const KeywordSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .refine((k) => k === k.trim(), { error: 'must not start or end with spaces' })
  .refine((k) => k === k.toLocaleLowerCase('tr-TR'), {
    error: 'must be lower-case by Turkish rules ("I" → "ı", "İ" → "i")',
  })

/** What a category's question asks for: the six datatypes of an Open311 service attribute. */
export const QuestionDatatypeSchema = z.enum(['string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist'])

/** One choice of a list question: a stable `key` (what channels send) and its Turkish name. */
export const QuestionValueSchema = z.strictObject({ key: CatalogueCodeSchema, nameTr: NameSchema }).readonly()

const LIST_DATATYPES: ReadonlySet<string> = new Set(['singlevaluelist', 'multivaluelist'])

/**
 * A question a category asks whoever files a request of it (for an injured animal: which animal,
 * is it aggressive). Every intake path asks and checks the same questions (`POST /v1/requests`
 * `answers`, Open311 `attribute[code]`). List questions list their `values`; the others have none.
 * Answers are stored in the clear with the case: ask about the matter, never about a person.
 */
export const QuestionSchema = z
  .strictObject({
    code: CatalogueCodeSchema,
    datatype: QuestionDatatypeSchema,
    /** A request of the category is refused without an answer. Default false. */
    required: z.boolean().default(false),
    /** The question as a citizen reads it. */
    questionTr: NameSchema,
    /** How to answer, when the datatype alone does not say (units, a format). */
    hintTr: NameSchema.optional(),
    values: z.array(QuestionValueSchema).min(1, { error: 'list at least one value' }).readonly().optional(),
  })
  .check((ctx) => {
    const list = LIST_DATATYPES.has(ctx.value.datatype)
    if (list && ctx.value.values === undefined) ctx.issues.push({ code: 'custom', input: ctx.value, path: ['values'], message: `a ${ctx.value.datatype} question must list its values` })
    if (!list && ctx.value.values !== undefined) ctx.issues.push({ code: 'custom', input: ctx.value, path: ['values'], message: `only list questions (singlevaluelist, multivaluelist) have values, not ${ctx.value.datatype}` })
  })
  .readonly()

/** A request category, answered by exactly one directorate. */
export const CategorySchema = z
  .strictObject({
    code: CategoryCodeSchema,
    department: DepartmentCodeSchema,
    nameTr: NameSchema,
    nameEn: NameSchema,
    keywords: z.array(KeywordSchema).min(1, { error: 'list at least one keyword' }).readonly(),
    /** Words that point to this category only when nothing clearer does: each counts half a keyword. */
    weakKeywords: z.array(KeywordSchema).readonly().optional(),
    /** Words that show a text is about something else: when one occurs, this category is not chosen. */
    notKeywords: z.array(KeywordSchema).readonly().optional(),
    /** Codes of categories this one wins over whenever both match (a dead cat is also a cat on the street). */
    outranks: z.array(CategoryCodeSchema).readonly().optional(),
    sla: SlaSchema,
    /** Set when a law bounds this category's deadline; the SLA must then stay within it. */
    legalDeadline: LegalDeadlineKindSchema.optional(),
    /** How long the personal data of this category's cases is kept after closing; else the catalogue's. */
    personalDataRetention: RetentionSchema.optional(),
    /** What a request of this category is asked besides its description, in this order. */
    questions: z.array(QuestionSchema).readonly().optional(),
    /**
     * False for matters whose mere existence says something about a household (social aid, home
     * care) or that the law treats apart (CİMER, information, KVKK requests): their requests never
     * appear in public lists (Open311 `GET requests` by date, service or status, the updates feed)
     * and are reached only by tracking code. Default true.
     */
    publicListing: z.boolean().optional(),
  })
  .readonly()

const days = (max: number) => positiveWhole.max(max, { error: `the law allows at most ${max}` })

/**
 * The deadlines set by law, as this municipality applies them. The schema caps each at its
 * statutory maximum, so a municipality may promise faster, never slower:
 * - `cimer`: CİMER petitions, 30 calendar days (Law 3071 art. 7);
 * - `information`: Bilgi Edinme requests, 15 working days, 30 when extended (Law 4982 art. 11);
 * - `kvkk`: data-subject requests, 30 calendar days (Law 6698 art. 13);
 * - `municipalPromise`: the municipality's own promise (48 hours by default), no legal cap.
 */
export const LegalDeadlinesSchema = z
  .strictObject({
    cimer: z.strictObject({ calendarDays: days(30) }).readonly(),
    information: z.strictObject({ workingDays: days(15), extendedWorkingDays: days(30) }).readonly(),
    kvkk: z.strictObject({ calendarDays: days(30) }).readonly(),
    municipalPromise: SlaSchema,
  })
  .readonly()

/** The whole catalogue file. */
export const CatalogueSchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1 (the only catalogue format so far)' }),
    departments: z.array(DepartmentSchema).min(1, { error: 'list at least one department' }).readonly(),
    categories: z.array(CategorySchema).min(1, { error: 'list at least one category' }).readonly(),
    deadlines: LegalDeadlinesSchema,
    /** How long personal data is kept after a case is closed, unless its category says otherwise (default 2 years). */
    personalDataRetention: RetentionSchema.optional(),
  })
  .readonly()

/** A catalogue code (kebab-case). */
export type CatalogueCode = z.infer<typeof CatalogueCodeSchema>
/** A directorate. */
export type Department = z.infer<typeof DepartmentSchema>
/** How a directorate's supervisors are reached. */
export type SupervisorContact = z.infer<typeof SupervisorContactSchema>
/** A category SLA: `{ hours }` or `{ workingDays }`. */
export type Sla = z.infer<typeof SlaSchema>
/** How long personal data is kept after closing: `{ years }` or `{ months }`. */
export type Retention = z.infer<typeof RetentionSchema>
/** `'cimer' | 'information' | 'kvkk'`. */
export type LegalDeadlineKind = z.infer<typeof LegalDeadlineKindSchema>
/** The datatype of a category question. */
export type QuestionDatatype = z.infer<typeof QuestionDatatypeSchema>
/** A category question. */
export type Question = z.infer<typeof QuestionSchema>
/** A request category. */
export type Category = z.infer<typeof CategorySchema>
/** The legal deadlines section. */
export type LegalDeadlines = z.infer<typeof LegalDeadlinesSchema>
/** A validated catalogue (deeply frozen). */
export type Catalogue = z.infer<typeof CatalogueSchema>

/** The statutory deadlines themselves (the maxima `LegalDeadlinesSchema` enforces). */
export const LEGAL_DEADLINES = {
  cimer: { calendarDays: 30 },
  information: { workingDays: 15, extendedWorkingDays: 30 },
  kvkk: { calendarDays: 30 },
  municipalPromise: { hours: 48 },
} as const satisfies LegalDeadlines

/** One thing wrong with a catalogue, at a path such as `categories[3].department`. */
export interface CatalogueProblem {
  readonly path: string
  readonly message: string
}

/** Thrown by `validateCatalogue`; the message lists every problem with its path. */
export class CatalogueError extends Error {
  override readonly name = 'CatalogueError'
  readonly problems: readonly CatalogueProblem[]
  readonly source: string | undefined

  constructor(problems: readonly CatalogueProblem[], source?: string) {
    const where = source === undefined ? '' : ` in ${source}`
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
    super(
      `Invalid service catalogue${where} (${count}):\n` +
        problems.map((p) => `  - ${p.path === '' ? '(root)' : p.path}: ${p.message}`).join('\n'),
    )
    this.problems = problems
    this.source = source
  }
}

/** Formats a zod issue path as `categories[3].sla.hours`. */
export function formatCataloguePath(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out
}

/**
 * Parses a catalogue and checks its cross references: unique department and category codes,
 * every category's department exists, no keyword listed twice within a category (in any of its
 * keyword lists), every `outranks` names another existing category, and SLAs of
 * categories bound by a law stay within it. Throws a `CatalogueError` listing every problem;
 * `source` (e.g. a file name) is named in the message.
 */
export function validateCatalogue(raw: unknown, source?: string): Catalogue {
  const problems: CatalogueProblem[] = []
  const parsed = CatalogueSchema.safeParse(raw)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = formatCataloguePath(issue.path)
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problems.push({ path: formatCataloguePath([...issue.path, key]), message: 'unknown field (check the spelling)' })
        }
      } else {
        problems.push({ path, message: issue.message })
      }
    }
  }
  // Cross references are checked on the raw input, defensively, so that a file with a typo
  // in one field still reports its unknown departments and duplicates in the same run.
  problems.push(...crossReferenceProblems(raw))
  if (problems.length > 0 || !parsed.success) throw new CatalogueError(problems, source)
  return deepFreeze(parsed.data)
}

function crossReferenceProblems(raw: unknown): CatalogueProblem[] {
  const problems: CatalogueProblem[] = []
  if (!isRecord(raw)) return problems
  const departments = Array.isArray(raw['departments']) ? (raw['departments'] as unknown[]) : []
  const categories = Array.isArray(raw['categories']) ? (raw['categories'] as unknown[]) : []

  const departmentAt = new Map<string, number>()
  departments.forEach((d, i) => {
    const code = isRecord(d) ? d['code'] : undefined
    if (typeof code !== 'string') return
    const first = departmentAt.get(code)
    if (first === undefined) departmentAt.set(code, i)
    else problems.push({ path: `departments[${i}].code`, message: `duplicate department code "${code}" (first used at departments[${first}])` })
  })

  const known = [...departmentAt.keys()].join(', ')
  const categoryAt = new Map<string, number>()
  categories.forEach((c, i) => {
    if (!isRecord(c)) return
    const code = c['code']
    if (typeof code === 'string') {
      const first = categoryAt.get(code)
      if (first === undefined) categoryAt.set(code, i)
      else problems.push({ path: `categories[${i}].code`, message: `duplicate category code "${code}" (first used at categories[${first}])` })
    }
    const department = c['department']
    if (typeof department === 'string' && !departmentAt.has(department)) {
      problems.push({ path: `categories[${i}].department`, message: `unknown department "${department}" (known: ${known === '' ? 'none' : known})` })
    }
    // A word is either a keyword, a weak keyword or a "not" keyword of a category, and listed once.
    const seen = new Map<unknown, string>()
    for (const list of ['keywords', 'weakKeywords', 'notKeywords'] as const) {
      if (!Array.isArray(c[list])) continue
      ;(c[list] as unknown[]).forEach((k, j) => {
        const first = seen.get(k)
        if (first === list) problems.push({ path: `categories[${i}].${list}[${j}]`, message: `repeated keyword "${String(k)}"` })
        else if (first !== undefined) problems.push({ path: `categories[${i}].${list}[${j}]`, message: `"${String(k)}" is already in ${first}` })
        else seen.set(k, list)
      })
    }
    problems.push(...legalDeadlineProblems(c, `categories[${i}]`, raw['deadlines']))
    problems.push(...questionProblems(c, `categories[${i}]`))
  })

  categories.forEach((c, i) => {
    if (!isRecord(c) || !Array.isArray(c['outranks'])) return
    ;(c['outranks'] as unknown[]).forEach((code, j) => {
      if (typeof code !== 'string') return
      const path = `categories[${i}].outranks[${j}]`
      if (code === c['code']) problems.push({ path, message: 'a category cannot outrank itself' })
      else if (!categoryAt.has(code)) problems.push({ path, message: `unknown category "${code}"` })
    })
  })

  const deadlines = raw['deadlines']
  if (isRecord(deadlines) && isRecord(deadlines['information'])) {
    const { workingDays, extendedWorkingDays } = deadlines['information']
    if (typeof workingDays === 'number' && typeof extendedWorkingDays === 'number' && extendedWorkingDays < workingDays) {
      problems.push({ path: 'deadlines.information.extendedWorkingDays', message: `must not be shorter than workingDays (${workingDays})` })
    }
  }
  return problems
}

/** Question codes are unique within their category, and value keys within their question. */
function questionProblems(category: Record<string, unknown>, path: string): CatalogueProblem[] {
  const problems: CatalogueProblem[] = []
  if (!Array.isArray(category['questions'])) return problems
  const codes = new Set<unknown>()
  ;(category['questions'] as unknown[]).forEach((q, i) => {
    if (!isRecord(q)) return
    if (codes.has(q['code'])) problems.push({ path: `${path}.questions[${i}].code`, message: `repeated question code "${String(q['code'])}"` })
    codes.add(q['code'])
    if (!Array.isArray(q['values'])) return
    const keys = new Set<unknown>()
    ;(q['values'] as unknown[]).forEach((v, j) => {
      const key = isRecord(v) ? v['key'] : undefined
      if (keys.has(key)) problems.push({ path: `${path}.questions[${i}].values[${j}].key`, message: `repeated value "${String(key)}"` })
      keys.add(key)
    })
  })
  return problems
}

function legalDeadlineProblems(category: Record<string, unknown>, path: string, deadlines: unknown): CatalogueProblem[] {
  const kind = category['legalDeadline']
  const sla = category['sla']
  if (typeof kind !== 'string' || !isRecord(sla) || !isRecord(deadlines)) return []
  const limit = deadlines[kind]
  if (!isRecord(limit)) return []
  if (kind === 'information') {
    const max = limit['workingDays']
    if (typeof max !== 'number') return []
    const given = sla['workingDays']
    if (typeof given !== 'number') return [{ path: `${path}.sla`, message: `must be given in workingDays (at most ${max}): Law 4982 counts working days` }]
    return given > max ? [{ path: `${path}.sla.workingDays`, message: `${given} exceeds the legal deadline of ${max} working days` }] : []
  }
  const maxDays = limit['calendarDays']
  if (typeof maxDays !== 'number') return []
  const given = sla['hours']
  if (typeof given !== 'number') return [{ path: `${path}.sla`, message: `must be given in hours (at most ${maxDays * 24}): the ${kind} deadline counts calendar days` }]
  return given > maxDays * 24 ? [{ path: `${path}.sla.hours`, message: `${given} exceeds the legal deadline of ${maxDays} days (${maxDays * 24} hours)` }] : []
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

interface CatalogueIndex {
  readonly departments: ReadonlyMap<string, Department>
  readonly categories: ReadonlyMap<string, Category>
  readonly byDepartment: ReadonlyMap<string, readonly Category[]>
}

// Validated catalogues are frozen, so an index built once per catalogue object stays true.
const indexes = new WeakMap<Catalogue, CatalogueIndex>()

function indexOf(catalogue: Catalogue): CatalogueIndex {
  let index = indexes.get(catalogue)
  if (index === undefined) {
    const byDepartment = new Map<string, Category[]>()
    for (const c of catalogue.categories) {
      const list = byDepartment.get(c.department) ?? []
      list.push(c)
      byDepartment.set(c.department, list)
    }
    index = {
      departments: new Map(catalogue.departments.map((d) => [d.code, d])),
      categories: new Map(catalogue.categories.map((c) => [c.code, c])),
      byDepartment,
    }
    indexes.set(catalogue, index)
  }
  return index
}

/** The category with this code, or `undefined`. */
export function categoryByCode(catalogue: Catalogue, code: string): Category | undefined {
  return indexOf(catalogue).categories.get(code)
}

/**
 * How long the personal data of a case of this category is kept after the case is closed: the
 * category's own period, else the catalogue's, else `DEFAULT_PERSONAL_DATA_RETENTION`. An unknown
 * or missing category (a code removed from the catalogue since) gets the catalogue's period.
 */
export function personalDataRetentionOf(catalogue: Catalogue, categoryCode: string | null | undefined): Retention {
  const own = categoryCode == null ? undefined : categoryByCode(catalogue, categoryCode)?.personalDataRetention
  return own ?? catalogue.personalDataRetention ?? DEFAULT_PERSONAL_DATA_RETENTION
}

/** The department with this code, or `undefined`. */
export function departmentByCode(catalogue: Catalogue, code: string): Department | undefined {
  return indexOf(catalogue).departments.get(code)
}

/** The categories a department answers, in catalogue order (empty for an unknown code). */
export function categoriesOfDepartment(catalogue: Catalogue, departmentCode: string): readonly Category[] {
  return indexOf(catalogue).byDepartment.get(departmentCode) ?? []
}

/** The department that answers a category, or `undefined` when the category is unknown. */
export function departmentOfCategory(catalogue: Catalogue, categoryCode: string): Department | undefined {
  const category = categoryByCode(catalogue, categoryCode)
  return category === undefined ? undefined : departmentByCode(catalogue, category.department)
}

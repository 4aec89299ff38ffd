// Every operation of the API description, called the way the description says: the real
// standalone process (`pnpm start`'s entry point, development tokens, an empty data folder), its
// own `/openapi.json`, one request per operation built from the documented examples (body, path
// and query parameters) — case ids, tracking codes and directorate codes from a case this test
// submits first, a token of a role the operation admits (ACCESS_RULES) — and each answer checked
// against the schema documented for the status and media type it came with (Ajv, JSON Schema
// 2020-12, the dialect OpenAPI 3.1 and zod 4 speak). An undocumented status fails.
// Case commands each get a case of their own, brought first to where the command is legal.
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import t from 'tap'
import { ACCESS_RULES, accessRuleFor, type Role } from '@civic-desk/service-kit'
import { eventually } from '@civic-desk/service-kit/testing'
import { startStandaloneProcess } from './standalone-process.testing.ts'

t.setTimeout(600_000)

// ajv-formats is CommonJS: its default export is the plugin function itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020

interface MediaType {
  readonly schema?: object
  readonly example?: unknown
  readonly examples?: Record<string, { readonly value?: unknown }>
}
interface Parameter {
  readonly name: string
  readonly in: 'path' | 'query' | 'header'
  readonly required?: boolean
  readonly example?: unknown
  readonly schema?: { readonly examples?: readonly unknown[]; readonly example?: unknown }
}
interface Operation {
  readonly parameters?: readonly Parameter[]
  readonly requestBody?: { readonly content: Record<string, MediaType> }
  readonly responses: Record<string, { readonly content?: Record<string, MediaType> }>
}
interface Document {
  readonly paths: Record<string, Record<string, Operation>>
  readonly components?: { readonly schemas?: Record<string, unknown> }
}

/** A schema with the document's `#/components/schemas/…` references put in place, for Ajv to compile alone. */
function inlined(schema: unknown, doc: Document): unknown {
  if (Array.isArray(schema)) return schema.map((s) => inlined(s, doc))
  if (typeof schema !== 'object' || schema === null) return schema
  const ref = (schema as { $ref?: unknown }).$ref
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    const target = doc.components?.schemas?.[ref.slice('#/components/schemas/'.length)]
    if (target === undefined) throw new Error(`the document has no ${ref}`)
    return inlined(target, doc)
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, inlined(v, doc)]))
}

/** The documented example of a media type or parameter, if any. */
function exampleOf(m: { readonly example?: unknown; readonly examples?: unknown; readonly schema?: { readonly examples?: readonly unknown[]; readonly example?: unknown } }): unknown {
  if (m.example !== undefined) return m.example
  if (typeof m.examples === 'object' && m.examples !== null) {
    const first = Object.values(m.examples as Record<string, { value?: unknown }>)[0]
    if (first?.value !== undefined) return first.value
  }
  return m.schema?.example ?? m.schema?.examples?.[0]
}

/** The command of a case route (`accept`, `steps/:step`), or null. */
const caseCommandOf = (method: string, path: string): string | null => {
  const m = /^\/v1\/cases\/\{caseId\}\/(.+)$/.exec(path)
  return method === 'post' && m !== null ? m[1]! : null
}

/** Case commands in their lifecycle order; each runs on a case brought to where it is legal by `PREPARE`. */
const COMMAND_ORDER = ['accept', 'start', 'note', 'request-info', 'citizen-reply', 'transfer', 'resolve', 'reject', 'reopen', 'close', 'unlink-duplicate', 'steps/{step}']
const PREPARE: Readonly<Record<string, readonly string[]>> = {
  start: ['accept'],
  'citizen-reply': ['request-info'],
  reopen: ['resolve'],
  close: ['resolve'],
  'steps/{step}': ['accept'],
}

/** Where an operation goes: submissions first (the fixture), reads, case commands in order, then what changes everything. */
function rank(method: string, path: string): number {
  if (method === 'post' && path === '/v1/requests') return 0
  const command = caseCommandOf(method, path)
  if (command !== null) return 100 + Math.max(0, COMMAND_ORDER.indexOf(command))
  if (path === '/v1/privacy/erasures' || path === '/v1/ops/read-models/rebuild') return 300
  if (method === 'post') return 50
  return 10
}

const TOKEN_OF: Readonly<Record<Role, string | null>> = {
  supervisor: 'dev-supervisor',
  operator: 'dev-operator',
  auditor: 'dev-auditor',
  'privacy-officer': 'dev-privacy',
  channel: 'dev-channel',
  staff: null,
}
const ROLE_PREFERENCE: readonly Role[] = ['supervisor', 'operator', 'auditor', 'privacy-officer', 'channel', 'staff']

t.test('every documented operation answers its documented example as its schema says', async (t) => {
  const { base } = await startStandaloneProcess(t)

  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as Document
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true, validateFormats: true }))

  const operations = Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method, path, op })))
    .sort((a, b) => rank(a.method, a.path) - rank(b.method, b.path) || a.path.localeCompare(b.path))
  t.ok(operations.length >= 40, `${operations.length} documented operations`)

  const submitOp = doc.paths['/v1/requests']?.['post']
  const submitExample = submitOp?.requestBody === undefined ? undefined : (exampleOf(submitOp.requestBody.content['application/json'] ?? {}) as Record<string, unknown> | undefined)
  if (submitExample === undefined) {
    t.fail('POST /v1/requests documents no request example: nothing to build the fixture from')
    return
  }

  const raw = async (method: string, url: string, token: string | null, body?: { type: string; text: string }) => {
    const headers: Record<string, string> = {}
    if (token !== null) headers['authorization'] = `Bearer ${token}`
    if (body !== undefined) headers['content-type'] = body.type
    const res = await fetch(`${base}${url}`, { method: method.toUpperCase(), headers, ...(body === undefined ? {} : { body: body.text }) })
    return { status: res.status, type: (res.headers.get('content-type') ?? '').split(';')[0]!.trim(), text: await res.text() }
  }

  /** A new case from the documented example (a fresh one each time: no externalId), once routed. */
  const newCase = async (overrides: Record<string, unknown> = {}): Promise<{ caseId: string; trackingCode: string; department: string }> => {
    const { externalId: _externalId, ...example } = submitExample
    const res = await raw('post', '/v1/requests', 'dev-channel', { type: 'application/json', text: JSON.stringify({ ...example, ...overrides }) })
    if (res.status !== 201) throw new Error(`submitting the example → ${res.status} ${res.text}`)
    const { caseId, trackingCode } = JSON.parse(res.text) as { caseId: string; trackingCode: string }
    const routed = await eventually(
      async () => JSON.parse((await raw('get', `/v1/cases/${caseId}`, 'dev-supervisor')).text) as { status?: string; department?: { code: string } | null },
      (c) => c.status === 'routed',
      `case ${caseId} routed`,
    )
    return { caseId, trackingCode, department: routed.department?.code ?? '' }
  }
  const fixture = await newCase()
  // The dashboards answer from the read models: wait until the case is there.
  await eventually(async () => (await raw('get', `/v1/dashboards/cases/${fixture.caseId}`, 'dev-operator')).status, (s) => s === 200, 'the fixture in the read models')

  /** The documented request of an operation, for a case (its ids and directorate fill the blanks). */
  const requestOf = (method: string, path: string, op: Operation, c: { caseId: string; trackingCode: string; department: string }) => {
    const missing: string[] = []
    const known: Record<string, string> = { caseId: c.caseId, trackingCode: c.trackingCode, ref: c.trackingCode, code: c.department }
    // Open311 names one request by its tracking code as the file name.
    if (path === '/open311/v2/requests/{file}') known['file'] = `${c.trackingCode}.json`
    let url = path
    const query = new URLSearchParams()
    for (const p of op.parameters ?? []) {
      const example = exampleOf(p)
      if (p.in === 'path') {
        const value = known[p.name] ?? (example === undefined ? undefined : String(example))
        if (value === undefined) missing.push(`path parameter ${p.name}`)
        else url = url.replace(`{${p.name}}`, encodeURIComponent(value))
      } else if (p.in === 'query') {
        if (example !== undefined) query.set(p.name, String(example))
        else if (p.required === true) missing.push(`query parameter ${p.name}`)
      }
    }
    if (query.size > 0) url += `?${query.toString()}`
    let body: { type: string; text: string } | undefined
    if (op.requestBody !== undefined) {
      const [type, media] = Object.entries(op.requestBody.content)[0] ?? ['application/json', {}]
      const example = exampleOf(media)
      if (example === undefined) missing.push('request body example')
      else {
        // The documented ids are placeholders: the fixture's stand in for them.
        const value = typeof example === 'object' && example !== null && !Array.isArray(example) ? { ...(example as Record<string, unknown>) } : example
        if (typeof value === 'object' && value !== null) {
          const v = value as Record<string, unknown>
          if ('trackingCode' in v) v['trackingCode'] = c.trackingCode
          if ('caseId' in v) v['caseId'] = c.caseId
          if (type === 'application/x-www-form-urlencoded' && 'client_reference' in v) v['client_reference'] = `openapi-example-${c.caseId}`
        }
        body = type === 'application/x-www-form-urlencoded' ? { type, text: new URLSearchParams(Object.entries(value as Record<string, unknown>).map(([k, x]): [string, string] => [k, String(x)])).toString() } : { type, text: JSON.stringify(value) }
      }
    }
    const rule = accessRuleFor(ACCESS_RULES, method.toUpperCase(), path.replace(/\{([^}]+)\}/g, ':$1'))
    let token: string | null = null
    if (rule !== undefined && (rule.anonymous !== 'full' || path === '/readyz')) {
      const role = ROLE_PREFERENCE.find((r) => rule.roles[r] !== undefined)
      token = role === undefined ? null : (TOKEN_OF[role] ?? `dev-staff-${c.department}`)
    }
    return { url, body, token, missing }
  }

  let twoHundreds = 0
  const notTwoHundred: string[] = []
  for (const { method, path, op } of operations) {
    const name = `${method.toUpperCase()} ${path}`
    await t.test(name, async (t) => {
      const command = caseCommandOf(method, path)
      let target = fixture
      if (command !== null) {
        // A case of its own, brought to where the command is legal (a workflow step needs a directorate with one).
        target = await newCase(command.startsWith('steps/') ? { category: 'sosyal-yardim' } : {})
        for (const step of PREPARE[command] ?? []) {
          const prepOp = doc.paths[`/v1/cases/{caseId}/${step}`]?.['post']
          if (prepOp === undefined) continue
          const prep = requestOf('post', `/v1/cases/{caseId}/${step}`, prepOp, target)
          const res = await raw('post', prep.url, prep.token, prep.body)
          t.ok(res.status >= 200 && res.status < 300, `prepared with ${step}: ${res.status}`, { body: res.text.slice(0, 300) })
        }
      }
      const request = requestOf(method, path, op, target)
      if (request.missing.length > 0) t.fail(`${name} documents no example for: ${request.missing.join(', ')}`)
      const res = await raw(method, request.url, request.token, request.body)
      if (res.status >= 200 && res.status < 300) twoHundreds++
      else notTwoHundred.push(`${name} → ${res.status}`)
      const documented = op.responses[String(res.status)]
      if (documented === undefined) {
        t.fail(`${name} answered ${res.status}, which the document does not list (${Object.keys(op.responses).join(', ')})`, { body: res.text.slice(0, 500) })
        return
      }
      const media = documented.content?.[res.type]
      if (media?.schema === undefined) {
        t.fail(`${name} answered ${res.status} as ${res.type}, which the document does not describe (${Object.keys(documented.content ?? {}).join(', ')})`)
        return
      }
      const value = res.type === 'application/json' || res.type === 'application/problem+json' ? (JSON.parse(res.text) as unknown) : res.text
      const validate = ajv.compile(inlined(media.schema, doc) as object)
      t.ok(validate(value), `${res.status} ${res.type} matches the documented schema`, { errors: validate.errors?.slice(0, 5), body: res.text.slice(0, 500) })
    })
  }
  t.comment(`${twoHundreds} of ${operations.length} operations answered 2xx; the others: ${notTwoHundred.join('; ') || 'none'}`)
  t.ok(twoHundreds >= Math.ceil(operations.length * 0.85), `most operations answer 2xx (${twoHundreds} of ${operations.length})`)
})

// The API description against the routes themselves, on standalone's app (every route of the
// product) built as `pnpm openapi` builds it:
// - every route registered on the app is in the document with a 2xx response schema, tags and a
//   summary — but for the ones hidden on purpose: the operator console's static files and Swagger
//   UI's own files (routes of the `GET /*` and `GET /docs` rows of ACCESS_RULES);
// - docs/openapi.json is what `pnpm openapi` writes now.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { ACCESS_RULES, API_TAGS, isHiddenRoute } from '@civic-desk/service-kit'
import { DOCUMENT_FILE, buildStandaloneDescribedApp, stableJson } from './openapi-app.ts'

interface Operation {
  readonly tags?: readonly string[]
  readonly summary?: string
  readonly security?: readonly unknown[]
  readonly responses?: Record<string, { readonly content?: Record<string, { readonly schema?: unknown }> }>
}
type Document = { readonly openapi: string; readonly paths: Record<string, Record<string, Operation>> }

/** `/v1/cases/:caseId` → `/v1/cases/{caseId}`, as OpenAPI writes paths. */
const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

t.test('every route of standalone is described: in the document, with a 2xx response schema, tags and a summary', async (t) => {
  const described = await buildStandaloneDescribedApp()
  t.teardown(() => described.close())
  const doc = described.app.swagger() as unknown as Document
  t.equal(doc.openapi, '3.1.0')
  const tags = new Set(API_TAGS.map((tag) => tag.name))

  const routes = described.routes.filter((r) => r.method !== 'HEAD')
  const hidden = routes.filter((r) => isHiddenRoute(r.method, r.url, ACCESS_RULES))
  // Hidden on purpose: the console's files (`/`, `/index.html`, its modules, Chart.js) and Swagger UI's.
  t.ok(hidden.some((r) => r.url === '/vendor/chart.umd.min.js'), 'the console route is hidden on purpose')
  t.ok(hidden.some((r) => r.url.startsWith('/docs')), "Swagger UI's own routes are hidden on purpose")
  for (const r of hidden) t.ok(r.method === 'GET' && (r.url === '/docs' || r.url.startsWith('/docs/') || !r.url.startsWith('/v1/')), `${r.method} ${r.url}: hidden, and only a console or UI file`)

  const documented = routes.filter((r) => !isHiddenRoute(r.method, r.url, ACCESS_RULES))
  t.ok(documented.length >= 40, `${documented.length} routes to describe`)
  for (const route of documented) {
    const name = `${route.method} ${route.url}`
    const op = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()]
    if (op === undefined) {
      t.fail(`${name} is missing from the document`)
      continue
    }
    const ok = Object.entries(op.responses ?? {}).filter(([status, r]) => /^2\d\d$/.test(status) && Object.values(r.content ?? {}).some((c) => c.schema !== undefined))
    t.ok(ok.length > 0, `${name}: a 2xx response with a schema`)
    t.ok((op.tags ?? []).length > 0 && (op.tags ?? []).every((tag) => tags.has(tag)), `${name}: tagged with a known group (${(op.tags ?? []).join(', ')})`)
    t.ok(typeof op.summary === 'string' && op.summary.length > 0, `${name}: a summary`)
    t.ok(Array.isArray(op.security), `${name}: a security requirement from ACCESS_RULES`)
  }
  // And nothing in the document that is not a route.
  const known = new Set(documented.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`))
  for (const [path, ops] of Object.entries(doc.paths)) for (const method of Object.keys(ops)) t.ok(known.has(`${method} ${path}`), `${method.toUpperCase()} ${path} is a route`)
})

t.test('docs/openapi.json is current', async (t) => {
  const described = await buildStandaloneDescribedApp()
  t.teardown(() => described.close())
  const now = stableJson(described.app.swagger())
  let committed = ''
  try {
    committed = readFileSync(DOCUMENT_FILE, 'utf8')
  } catch {
    // Missing: compared as empty, failing below with the fix.
  }
  t.ok(committed === now, 'docs/openapi.json is stale: run `pnpm openapi` and commit the file', { diff: firstDifference(committed, now) })
})

/** Where two texts part, with a little context, so the failure says what changed. */
function firstDifference(a: string, b: string): string {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  const line = a.slice(0, i).split('\n').length
  return `line ${line}: committed «${a.slice(Math.max(0, i - 80), i + 80)}» vs generated «${b.slice(Math.max(0, i - 80), i + 80)}»`
}

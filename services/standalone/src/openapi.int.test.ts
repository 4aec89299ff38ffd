// The API description against the routes themselves, on standalone's app (every route of the
// product) built as `pnpm openapi` builds it:
// - every route registered on the app is in the document with a 2xx response schema, tags, a
//   summary and a security requirement (`describedRouteGaps`, which each service's own app test
//   applies to its process's routes as well) — but for the ones hidden on purpose: the operator
//   console's static files and Swagger UI's own files (the `GET /*` and `GET /docs` rows of
//   ACCESS_RULES);
// - docs/openapi.json is what `pnpm openapi` writes now.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { ACCESS_RULES, isHiddenRoute } from '@civic-desk/service-kit'
import { describedRouteGaps } from '@civic-desk/service-kit/testing'
import { DOCUMENT_FILE, buildStandaloneDescribedApp, stableJson } from './openapi-app.ts'

t.test('every route of standalone is described: in the document, with a 2xx response schema, tags and a summary', async (t) => {
  const described = await buildStandaloneDescribedApp()
  t.teardown(() => described.close())
  t.equal((described.app.swagger() as { openapi?: string }).openapi, '3.1.0')

  const routes = described.routes.filter((r) => r.method !== 'HEAD')
  const hidden = routes.filter((r) => isHiddenRoute(r.method, r.url, ACCESS_RULES))
  // Hidden on purpose: the console's files (`/`, `/index.html`, its modules, Chart.js) and Swagger UI's.
  t.ok(hidden.some((r) => r.url === '/vendor/chart.umd.min.js'), 'the console route is hidden on purpose')
  t.ok(hidden.some((r) => r.url.startsWith('/docs')), "Swagger UI's own routes are hidden on purpose")
  for (const r of hidden) t.ok(r.method === 'GET' && (r.url === '/docs' || r.url.startsWith('/docs/') || !r.url.startsWith('/v1/')), `${r.method} ${r.url}: hidden, and only a console or UI file`)
  t.ok(routes.length - hidden.length >= 40, `${routes.length - hidden.length} routes to describe`)
  t.same(await describedRouteGaps(described.app), [], 'every route described, nothing described that is no route')
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

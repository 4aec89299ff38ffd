// The API reference page as a new user opens it: standalone's app (as `pnpm openapi` builds it)
// listening on a free port, `/docs` in headless Chromium. Every request the page makes stays on
// the server's own origin (Swagger UI comes from its npm package, no CDN); it lists every
// documented route; and a route's request and response schemas can be opened and read.
import t from 'tap'
import { launchTestBrowser } from '@civic-desk/console/browser'
import { buildStandaloneDescribedApp } from './openapi-app.ts'

t.setTimeout(180_000)

t.test('/docs: own origin only, every route listed, the schema of POST /v1/requests readable', async (t) => {
  const browser = await launchTestBrowser(t)
  if (browser === undefined) return
  const described = await buildStandaloneDescribedApp()
  t.teardown(() => described.close())
  await described.app.listen({ port: 0, host: '127.0.0.1' })
  const address = described.app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const origin = `http://127.0.0.1:${address.port}`
  const doc = (await (await fetch(`${origin}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> }

  const context = await browser.newContext()
  t.teardown(() => context.close())
  const page = await context.newPage()
  const requested: string[] = []
  const pageErrors: string[] = []
  page.on('request', (request) => requested.push(request.url()))
  page.on('pageerror', (error) => pageErrors.push(error.message))

  const response = await page.goto(`${origin}/docs`, { waitUntil: 'networkidle' })
  t.equal(response?.status(), 200, '/docs answers 200')
  await page.waitForSelector('.opblock', { timeout: 30_000 })

  // Every operation of the document, by method and path, has its block on the page.
  const shown = await page.$$eval('.opblock', (blocks) =>
    blocks.map((b) => `${b.querySelector('.opblock-summary-method')?.textContent?.trim().toLowerCase()} ${b.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`),
  )
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`))
  t.ok(operations.length >= 40, `the document lists ${operations.length} operations`)
  for (const op of operations) t.ok(shown.includes(op), `the page lists ${op}`)

  // Open POST /v1/requests and read its request body's schema.
  const block = page.locator('.opblock-post', { has: page.locator('.opblock-summary-path[data-path="/v1/requests"]') })
  await block.locator('.opblock-summary').first().click()
  const body = block.locator('.opblock-section-request-body')
  await body.waitFor({ timeout: 10_000 })
  await body.getByText('Schema', { exact: true }).first().click()
  const model = body.locator('.model-box').first()
  await model.waitFor({ timeout: 10_000 })
  const schemaText = await model.innerText()
  for (const field of ['channel', 'kind', 'description', 'citizen']) t.match(schemaText, field, `the request schema shows the field ${field}`)
  // The example a call centre would send, in Turkish.
  await body.getByText('Example Value', { exact: true }).first().click()
  t.match(await body.innerText(), 'çukur', 'the request example is shown')

  // The 201 response and its schema.
  const responses = block.locator('.responses-wrapper')
  const created = responses.locator('tr.response[data-code="201"]')
  await created.waitFor({ timeout: 10_000 })
  await created.getByText('Schema', { exact: true }).first().click()
  const responseText = await created.innerText()
  for (const field of ['caseId', 'trackingCode', 'status']) t.match(responseText, field, `the 201 response schema shows ${field}`)
  t.match(await responses.innerText(), 'application/problem+json', 'problem responses are documented as application/problem+json')

  t.same(pageErrors, [], 'no script error on the page')
  const foreign = requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:'))
  t.same(foreign, [], `every one of ${requested.length} requests stays on ${origin}`)
  t.ok(requested.some((url) => url.includes('/docs/static/swagger-ui-bundle.js')), 'Swagger UI itself came from the server')
})

// api.js against a real HTTP server answering RFC 9457 problems: every status the console can
// meet gets a Turkish summary and hint, and the server's own title and detail stay available.
import Fastify from 'fastify'
import t from 'tap'

interface ApiErrorLike extends Error {
  status: number
  title: string
  detail: string | undefined
  summary: string
  hint: string
  retryAfterSeconds: number | undefined
  problem: Record<string, unknown> | undefined
  isAuth: boolean
  serverText: string
}
interface Api {
  getJson(path: string, options?: { token?: string | null }): Promise<unknown>
  ApiError: new (status: number, title: string, detail: string | undefined) => ApiErrorLike
  pageError(error: unknown): ApiErrorLike
}

// A browser module (plain JavaScript, no build step), loaded as it is served; Node has fetch.
const api = (await import(new URL('./public/api.js', import.meta.url).href)) as Api

const TITLES: Record<number, string> = {
  400: 'Request validation failed',
  401: 'Authentication required',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Payload too large',
  429: 'Too many requests',
  500: 'Internal Server Error',
  503: 'Service unavailable',
}

const server = Fastify()
server.get<{ Params: { status: string } }>('/problem/:status', (request, reply) => {
  const status = Number(request.params.status)
  if (status === 429) reply.header('retry-after', '30')
  const body: Record<string, unknown> = { type: `https://civic-desk.example/problems/${status}`, title: TITLES[status], status, detail: `detail of ${status}` }
  if (status === 400) body.errors = [{ field: 'description', message: 'Too short' }]
  return reply.code(status).type('application/problem+json').send(body)
})
server.get('/html', (_request, reply) => reply.code(502).type('text/html').send('<html><body>Bad gateway</body></html>'))
server.get('/ok', (request) => ({ authorization: request.headers.authorization }))
const base = await server.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => server.close())

async function failure(path: string): Promise<ApiErrorLike> {
  try {
    await api.getJson(`${base}${path}`, { token: 'dev-operator' })
  } catch (error) {
    if (error instanceof api.ApiError) return error
    throw error
  }
  throw new Error(`${path} did not fail`)
}

t.test('a 2xx answer is the JSON body, sent with the token', async (t) => {
  t.same(await api.getJson(`${base}/ok`, { token: 'dev-operator' }), { authorization: 'Bearer dev-operator' })
})

t.test('every problem status gets a Turkish summary and hint, and keeps the detail', async (t) => {
  const expected: Record<number, RegExp> = {
    400: /^Geçersiz istek$/,
    401: /^Belirteç geçersiz$/,
    403: /^Bu bilgiye erişim yetkiniz yok$/,
    404: /^Bulunamadı$/,
    409: /^Çakışma/,
    413: /^İstek çok büyük$/,
    429: /^Çok fazla istek$/,
    500: /^Sunucu hatası$/,
    503: /^Servis şu anda kullanılamıyor$/,
  }
  const hints = new Set<string>()
  for (const [code, summary] of Object.entries(expected)) {
    const status = Number(code)
    const error = await failure(`/problem/${status}`)
    t.equal(error.status, status)
    t.match(error.summary, summary, `${status} summary`)
    t.notMatch(error.hint, /İstek yerine getirilemedi\. Biraz sonra/, `${status} has its own hint, not the generic one`)
    hints.add(error.hint)
    t.equal(error.title, TITLES[status], 'the server title is kept')
    t.equal(error.detail, `detail of ${status}`, 'the server detail is kept')
    t.match(error.serverText, `HTTP ${status}`)
    t.match(error.serverText, `detail of ${status}`)
    t.equal(error.problem?.type, `https://civic-desk.example/problems/${status}`, 'the whole problem is kept')
    t.equal(error.isAuth, status === 401 || status === 403)
  }
  t.equal(hints.size, Object.keys(expected).length, 'one hint per status')
})

t.test('extras: invalid fields, Retry-After, a body that is not a problem, no server', async (t) => {
  t.match((await failure('/problem/400')).serverText, 'description: Too short')
  const limited = await failure('/problem/429')
  t.equal(limited.retryAfterSeconds, 30)
  t.match(limited.hint, /30 saniye sonra/)
  const html = await failure('/html')
  t.equal(html.status, 502)
  t.equal(html.summary, 'Ağ geçidi hatası')
  t.equal(html.detail, undefined)
  t.equal(html.title, 'Bad Gateway', 'the status text stands in for a missing title')
  const long = await failure('/problem/414')
  t.equal(long.summary, 'Adres çok uzun', 'fastify’s 414 for a path parameter over 100 characters')

  const closed = Fastify()
  const closedBase = await closed.listen({ host: '127.0.0.1', port: 0 })
  await closed.close()
  const offline = await api.getJson(`${closedBase}/ok`, { token: 'x' }).then(
    () => undefined,
    (error: unknown) => error as ApiErrorLike,
  )
  t.equal(offline?.status, 0)
  t.equal(offline?.summary, 'Sunucuya ulaşılamadı')
  t.match(offline?.hint, /bağlantınızı/)

  const own = api.pageError(new TypeError('x is undefined'))
  t.equal(own.status, -1)
  t.equal(own.summary, 'Beklenmeyen hata')
  t.equal(own.serverText, 'x is undefined', 'the page’s own error is kept for the details')
  t.equal(api.pageError(limited), limited, 'an ApiError stays as it is')
})

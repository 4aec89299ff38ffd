// The console's only door to the server: same-origin JSON with the operator's bearer token,
// RFC 9457 problem+json errors turned into ApiError with a Turkish summary and hint per status
// (the API's own titles and details are English); the server's text is kept for the details.

const TOKEN_KEY = 'civic-desk.console.token'

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY)
}

/** @param {string} token */
export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token)
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY)
}

/**
 * The RFC 9457 members the console reads; anything else the server sends is kept as it came.
 * @typedef {{ type?: string, title?: string, status?: number, detail?: string, instance?: string, errors?: ReadonlyArray<{ field?: string, message?: string }>, [member: string]: unknown }} Problem
 */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached, -1 for an error in the page itself
   * @param {string} title the server's title (English), or a description of what failed
   * @param {string | undefined} detail the server's detail (English), kept for the technical details
   * @param {{ summary?: string, hint?: string, problem?: Problem, retryAfterSeconds?: number }} [options]
   *   `summary`/`hint` override the Turkish texts of the status; `problem` is the body as received
   */
  constructor(status, title, detail, options = {}) {
    super(detail ? `${title}: ${detail}` : title)
    this.name = 'ApiError'
    this.status = status
    this.title = title
    this.detail = detail
    /** @type {Problem | undefined} */
    this.problem = options.problem
    /** @type {number | undefined} */
    this.retryAfterSeconds = options.retryAfterSeconds
    /** What the operator reads first: Turkish, by status. */
    this.summary = options.summary ?? turkishSummary(status)
    /** What the operator can do about it, in Turkish. */
    this.hint = options.hint ?? turkishHint(status, options.retryAfterSeconds)
  }

  /** The token is wrong (401) or may not read this (403). */
  get isAuth() {
    return this.status === 401 || this.status === 403
  }

  /** The server's own words (status, title, detail, invalid fields), for the technical details. */
  get serverText() {
    if (this.status <= 0) return this.detail ?? ''
    const fields = (this.problem?.errors ?? [])
      .filter((error) => error && typeof error.field === 'string')
      .map((error) => `${error.field}: ${error.message ?? ''}`)
    return [`HTTP ${this.status}`, this.title, this.detail, ...fields].filter(Boolean).join(' — ')
  }
}

/** @type {Readonly<Record<number, string>>} */
const SUMMARIES = {
  0: 'Sunucuya ulaşılamadı',
  400: 'Geçersiz istek',
  401: 'Belirteç geçersiz',
  403: 'Bu bilgiye erişim yetkiniz yok',
  404: 'Bulunamadı',
  409: 'Çakışma: kayıt bu arada değişti',
  412: 'Kayıt bu arada değişti',
  413: 'İstek çok büyük',
  414: 'Adres çok uzun',
  415: 'Desteklenmeyen içerik türü',
  429: 'Çok fazla istek',
  500: 'Sunucu hatası',
  502: 'Ağ geçidi hatası',
  503: 'Servis şu anda kullanılamıyor',
  504: 'Sunucu zamanında yanıt vermedi',
}

/** @type {Readonly<Record<number, string>>} */
const HINTS = {
  0: 'Ağ bağlantınızı ve sunucunun çalıştığını kontrol edin.',
  400: 'Sunucu isteği kabul etmedi. Adresi ya da girdiğiniz değeri kontrol edin.',
  401: 'Belirteç geçersiz ya da süresi dolmuş. Yeniden giriş yapın.',
  403: 'Bu belirtecin bu bilgiyi görme yetkisi yok. Operatör ya da amir belirteci kullanın.',
  404: 'İstenen kayıt yok ya da size gösterilemiyor. Adresi ya da takip kodunu kontrol edin.',
  409: 'İstek, kaydın şimdiki durumuyla çelişiyor. Güncel hâlini görüp yeniden deneyin.',
  412: 'Kayıt siz bakarken değişti. Güncel hâlini görüp yeniden deneyin.',
  413: 'Gönderilen veri, sunucunun kabul ettiği boyutu aşıyor.',
  414: 'İstenen adres sunucunun kabul ettiği uzunluğu aşıyor. Girdiğiniz takip kodunu ya da değeri kontrol edin.',
  415: 'Sunucu bu biçimdeki veriyi kabul etmiyor.',
  429: 'Kısa sürede çok fazla istek gönderildi. Biraz bekleyip yeniden deneyin.',
  500: 'Sunucuda beklenmeyen bir hata oluştu. Sorun sürerse sistem yöneticisine bildirin.',
  502: 'Sunucunun önündeki ağ geçidi yanıt alamadı. Biraz sonra yeniden deneyin.',
  503: 'Servis geçici olarak hizmet veremiyor (ör. okuma modelleri hazırlanıyor). Biraz sonra yeniden deneyin.',
  504: 'Sunucu zamanında yanıt vermedi. Biraz sonra yeniden deneyin.',
}

/** @param {number} status */
function turkishSummary(status) {
  return SUMMARIES[status] ?? (status >= 500 ? 'Sunucu hatası' : status < 0 ? 'Beklenmeyen hata' : 'İstek yerine getirilemedi')
}

/** @param {number} status @param {number | undefined} retryAfterSeconds */
function turkishHint(status, retryAfterSeconds) {
  if (status === 429 && retryAfterSeconds !== undefined) return `Kısa sürede çok fazla istek gönderildi. ${retryAfterSeconds} saniye sonra yeniden deneyin.`
  if (status < 0) return 'Konsolda beklenmeyen bir hata oluştu. Sayfayı yenileyin; sorun sürerse sistem yöneticisine bildirin.'
  return HINTS[status] ?? (status >= 500 ? /** @type {string} */ (HINTS[500]) : 'İstek yerine getirilemedi. Biraz sonra yeniden deneyin.')
}

/**
 * An error of the console itself (not of the server) as an ApiError the pages can show.
 * @param {unknown} error
 */
export function pageError(error) {
  return error instanceof ApiError ? error : new ApiError(-1, 'Konsol hatası', error instanceof Error ? error.message : String(error))
}

/** `Retry-After` in seconds (a delay or an HTTP date), if the server sent one. @param {string | null} value */
function retryAfter(value) {
  if (value === null || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim())
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

/**
 * GETs a JSON API path (e.g. `/v1/dashboards/overview`) with the given or stored token; an answer
 * other than 2xx becomes an ApiError (the problem+json body, if any, in `problem`).
 * @param {string} path
 * @param {{ token?: string | null, signal?: AbortSignal }} [options]
 * @returns {Promise<any>}
 */
export async function getJson(path, options = {}) {
  const token = options.token ?? getToken()
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json, application/problem+json' }
  if (token) headers.authorization = `Bearer ${token}`
  let response
  try {
    response = await fetch(path, { headers, cache: 'no-store', ...(options.signal ? { signal: options.signal } : {}) })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error
    throw new ApiError(0, 'Ağ hatası', error instanceof Error ? error.message : undefined)
  }
  if (response.ok) return response.json()
  /** @type {Problem} */
  let problem = {}
  try {
    const body = await response.json()
    if (body && typeof body === 'object' && !Array.isArray(body)) problem = body
  } catch {
    // not problem+json (e.g. a proxy's HTML page): the status alone says what happened
  }
  const title = typeof problem.title === 'string' && problem.title ? problem.title : response.statusText || `HTTP ${response.status}`
  const detail = typeof problem.detail === 'string' && problem.detail ? problem.detail : undefined
  const seconds = retryAfter(response.headers.get('retry-after'))
  throw new ApiError(response.status, title, detail, { problem, ...(seconds === undefined ? {} : { retryAfterSeconds: seconds }) })
}

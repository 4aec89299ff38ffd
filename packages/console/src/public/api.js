// The console's only door to the server: same-origin JSON with the operator's bearer token,
// problem+json errors turned into ApiError with Turkish fallbacks.

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

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} title
   * @param {string | undefined} detail
   * @param {string} [summary] Turkish summary when the status does not say it (a script error)
   */
  constructor(status, title, detail, summary) {
    super(detail ? `${title}: ${detail}` : title)
    this.name = 'ApiError'
    this.status = status
    this.title = title
    this.detail = detail
    /** What the operator reads: Turkish by status (the API's own titles are in English). */
    this.summary = summary ?? FALLBACK_TITLES[status] ?? (status >= 500 ? 'Sunucu hatası' : 'İstek yerine getirilemedi')
  }

  /** The token is wrong (401) or may not read this (403). */
  get isAuth() {
    return this.status === 401 || this.status === 403
  }
}

/** @type {Readonly<Record<number, string>>} */
const FALLBACK_TITLES = {
  0: 'Sunucuya ulaşılamadı',
  400: 'Geçersiz istek',
  401: 'Belirteç geçersiz',
  403: 'Bu bilgiye erişim yetkiniz yok',
  404: 'Bulunamadı',
  409: 'Çakışma',
  413: 'İstek çok büyük',
  429: 'Çok fazla istek',
  500: 'Sunucu hatası',
  502: 'Ağ geçidi hatası',
  503: 'Servis şu anda kullanılamıyor',
  504: 'Sunucu zamanında yanıt vermedi',
}

/**
 * GETs a JSON API path (e.g. `/v1/dashboards/overview`) with the given or stored token.
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
    throw new ApiError(0, FALLBACK_TITLES[0] ?? 'Sunucuya ulaşılamadı', 'Ağ bağlantısını ve sunucunun çalıştığını kontrol edin.')
  }
  if (response.ok) return response.json()
  /** @type {{ title?: unknown, detail?: unknown }} */
  let problem = {}
  try {
    problem = await response.json()
  } catch {
    // not problem+json (e.g. a proxy's HTML page): keep the fallback text
  }
  const title = typeof problem.title === 'string' && problem.title ? problem.title : (FALLBACK_TITLES[response.status] ?? `HTTP ${response.status}`)
  const detail = typeof problem.detail === 'string' && problem.detail ? problem.detail : undefined
  throw new ApiError(response.status, title, detail)
}

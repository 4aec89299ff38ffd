/**
 * Open311 GeoReport v2 under `/open311/v2`: discovery, services, service definitions, filing a
 * request (form data with a channel's `api_key`), reading requests, and the extensions the bare
 * spec lacks (`extensions=true` notes, FixMyStreet's `servicerequestupdates`). Every answer comes
 * as XML or JSON by the resource's suffix; every error as the spec's error list.
 *
 * Filing goes through the intake's own validation, idempotency and store (`submitRequest`); the
 * reads come from the Open311 request index and never show personal data: no name, phone, e-mail,
 * description, street address, coordinates or staff text — only codes, statuses, instants, the
 * neighbourhood and the public steps.
 */
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import { parseTrackingCode } from '@civic-desk/case-domain'
import { OPEN_STATUSES, categoryByCode, departmentByCode, isInstantWithOffset, isOpenStatus, type Catalogue, type Category, type CaseStatus } from '@civic-desk/contracts'
import { ProjectionNotReadyError } from '@civic-desk/case-feed'
import { UnauthorizedError, type AccessControl, type Logger, type Principal } from '@civic-desk/service-kit'
import { submitRequest, type SubmitDeps } from '../submit.ts'
import { countSubmissions } from '../submission-metrics.ts'
import { channelActor, checkSubmission } from '../validation.ts'
import { Open311Error, badRequest, notFound, open311ErrorHandler } from './errors.ts'
import { single, submissionOf } from './form.ts'
import { CONTENT_TYPES, istanbulDateTime, render, xmlElement, type DocRecord, type Document, type Format } from './format.ts'
import { expectedMs, type IndexedRequest, type Open311Index } from './request-index.ts'
import { catalogueNames, noteType, serviceNotice, stepText } from './texts.ts'
import { documentOnly, fileRequestSchema, requestSchema, resourceSchema, serviceDefinitionSchema } from './schemas.ts'

export interface Open311Deps extends SubmitDeps {
  readonly catalogue: Catalogue
  readonly access: AccessControl
  readonly logger: Logger
  readonly index: Open311Index
  /** `CIVIC_OPEN311_JURISDICTION`: a request naming another `jurisdiction_id` is answered 404; unset, the parameter is ignored. */
  readonly jurisdiction?: string | undefined
  /** The public look-up's rate limit, applied to every read. */
  readonly lookupLimit: { readonly max: number; readonly timeWindow: string }
}

/** When this endpoint's behaviour last changed (discovery's `changeset`). */
export const OPEN311_CHANGESET = '2026-12-05T00:00:00+03:00'
export const OPEN311_PREFIX = '/open311/v2'
/** The widest `start_date`–`end_date` window, and the default one. */
export const MAX_WINDOW_MS = 90 * 24 * 3600_000
/** Most requests (and updates) one answer holds: the spec's default of 1,000. */
export const MAX_PAGE_SIZE = 1000
/** Requests whose rendered forms are kept (≈ 1.2 KB each, both formats, off the JS heap). */
const RENDERED_REQUESTS = 50_000

/** The updates feed's default window: the last day. */
const DEFAULT_UPDATES_WINDOW_MS = 24 * 3600_000

const CLOSED_STATUSES: readonly CaseStatus[] = ['resolved', 'rejected', 'closed']

/** `services.xml` → `['services', 'xml']`; a missing or unknown suffix is a 400. */
function splitResource(file: string): { readonly name: string; readonly format: Format } {
  const dot = file.lastIndexOf('.')
  if (dot <= 0) throw badRequest(`'${file}': biçim uzantısı eksik; kaynağın sonuna .xml veya .json ekleyin.`)
  const suffix = file.slice(dot + 1)
  if (suffix !== 'xml' && suffix !== 'json') throw badRequest(`'.${suffix}' desteklenmeyen bir biçim; .xml veya .json kullanın.`)
  return { name: file.slice(0, dot), format: suffix }
}

const queryOf = (request: FastifyRequest): URLSearchParams => new URLSearchParams(request.url.split('?')[1] ?? '')

function instant(params: URLSearchParams, name: string): number | undefined {
  const given = single(params, name)
  if (given === undefined) return undefined
  // A `+` typed unencoded in the offset arrives as a space (form decoding): read it as the offset.
  const text = given.replace(/^(\S+T[\d:.]+) (\d\d:?\d\d)$/, '$1+$2')
  if (!isInstantWithOffset(text)) throw badRequest(`${name} geçersiz: saat dilimli W3C ISO 8601 tarih-saat olmalı, ör. 2026-11-20T09:00:00+03:00 (verilen: '${text}').`)
  return Date.parse(text)
}

/** `start_date`/`end_date` as a window of at most 90 days; without them the `defaultMs` up to now. */
function windowOf(params: URLSearchParams, nowMs: number, defaultMs: number): { fromMs: number; toMs: number } {
  const from = instant(params, 'start_date')
  const to = instant(params, 'end_date')
  const toMs = to ?? (from === undefined ? nowMs : Math.min(from + defaultMs, Math.max(nowMs, from)))
  const fromMs = from ?? toMs - defaultMs
  if (fromMs > toMs) throw badRequest('start_date, end_date tarihinden sonra olamaz.')
  if (toMs - fromMs > MAX_WINDOW_MS) throw badRequest('start_date ile end_date arası en fazla 90 gün olabilir.')
  return { fromMs, toMs }
}

function wholeNumber(params: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const text = single(params, name)
  if (text === undefined) return fallback
  const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN
  if (!(value >= min && value <= max)) throw badRequest(`${name} geçersiz: ${min} ile ${max} arasında bir tam sayı olmalı (verilen: '${text}').`)
  return value
}

function flag(params: URLSearchParams, name: string): boolean {
  const text = single(params, name)
  if (text === undefined || text === 'false') return false
  if (text === 'true') return true
  throw badRequest(`${name} geçersiz: true veya false olmalı.`)
}

export async function registerOpen311Routes(app: FastifyInstance, deps: Open311Deps): Promise<void> {
  const { catalogue, index } = deps
  const log = deps.logger.child({ component: 'open311' })
  const names = catalogueNames(catalogue)
  const rateLimit = { rateLimit: deps.lookupLimit }
  const iso = istanbulDateTime
  // Lists (by date, service, status; the updates feed) leave out tips, whose informant must stay
  // hidden, and categories the catalogue keeps out of public lists; by tracking code, they answer.
  const listable = (r: IndexedRequest): boolean => r.kind !== 'tip' && (r.category === null || categoryByCode(catalogue, r.category)?.publicListing !== false)

  const checkJurisdiction = (params: URLSearchParams): void => {
    const given = single(params, 'jurisdiction_id')
    if (deps.jurisdiction !== undefined && given !== undefined && given !== deps.jurisdiction) {
      throw notFound(`jurisdiction_id '${given}' bulunamadı; bu uç nokta '${deps.jurisdiction}' içindir.`)
    }
  }
  const send = (reply: FastifyReply, doc: Document, format: Format): FastifyReply => reply.type(CONTENT_TYPES[format]).send(render(doc, format))

  const serviceRecord = (c: Category): DocRecord => ({
    service_code: c.code,
    service_name: c.nameTr,
    description: `${c.nameTr}. ${serviceNotice(catalogue, c)}`,
    metadata: (c.questions ?? []).length > 0,
    type: 'realtime',
    keywords: c.keywords.join(', '),
    group: departmentByCode(catalogue, c.department)?.nameTr ?? c.department,
  })

  const definitionRecord = (c: Category): DocRecord => ({
    service_code: c.code,
    attributes: (c.questions ?? []).map((q, i) => ({
      variable: true,
      code: q.code,
      datatype: q.datatype,
      required: q.required,
      datatype_description: q.hintTr ?? null,
      order: i + 1,
      description: q.questionTr,
      ...(q.values === undefined ? {} : { values: q.values.map((v) => ({ key: v.key, name: v.nameTr })) }),
    })),
  })

  // What every request of a category or directorate says alike, worked out once.
  const serviceTexts = new Map(catalogue.categories.map((c) => [c.code, { name: c.nameTr, notice: serviceNotice(catalogue, c) }]))
  const agencyNames = new Map(catalogue.departments.map((d) => [d.code, d.nameTr]))
  // A step's text depends on its kind, directorate and clear detail only: a few hundred at most.
  const stepTexts = new Map<string, string>()
  const textOfStep = (step: IndexedRequest['steps'][number]): string => {
    const key = `${step.step}|${step.department ?? ''}|${step.detail ?? ''}`
    let text = stepTexts.get(key)
    if (text === undefined) stepTexts.set(key, (text = stepText(step, names)))
    return text
  }

  const requestRecord = (r: IndexedRequest, extensions: boolean): DocRecord => {
    const service = r.category === null ? undefined : serviceTexts.get(r.category)
    const due = expectedMs(r)
    return {
      service_request_id: r.trackingCode,
      status: isOpenStatus(r.status) ? 'open' : 'closed',
      status_notes: textOfStep(r.steps[r.steps.length - 1]!),
      service_name: service?.name ?? null,
      service_code: r.category,
      agency_responsible: r.department === null ? null : (agencyNames.get(r.department) ?? r.department),
      service_notice: service?.notice ?? null,
      requested_datetime: iso(r.requestedMs),
      updated_datetime: iso(r.updatedMs),
      expected_datetime: due === null ? null : iso(due),
      // The neighbourhood, never the street address or the coordinates (personal data, sealed in the log).
      address: r.neighbourhood,
      ...(extensions ? { notes: r.steps.map((s) => ({ datetime: iso(s.atMs), description: textOfStep(s), type: noteType(s) })) } : {}),
    }
  }

  // A request's renderings (XML/JSON, with and without notes) depend on its state only, so they are
  // kept under its version, UTF-8 encoded: off the JS heap (the collector never walks them) and
  // half the size of Turkish text as JS strings.
  type Renderings = { version: number; readonly bytes: Map<string, Buffer> }
  const rendered = new LRUCache<IndexedRequest, Renderings>({ max: RENDERED_REQUESTS })
  const renderedRequest = (r: IndexedRequest, format: Format, extensions: boolean): Buffer => {
    let entry = rendered.get(r)
    if (entry === undefined || entry.version !== r.version) rendered.set(r, (entry = { version: r.version, bytes: new Map() }))
    const key = `${format}${extensions ? '+notes' : ''}`
    let bytes = entry.bytes.get(key)
    if (bytes === undefined) {
      const record = requestRecord(r, extensions)
      const text = format === 'xml' ? xmlElement('request', record) : JSON.stringify(record)
      // Its own memory, not a slice of Buffer's shared 8 KiB pool: a kept rendering must not keep
      // alive the pool slab of renderings long evicted.
      bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'))
      bytes.write(text, 'utf8')
      entry.bytes.set(key, bytes)
    }
    return bytes
  }
  const XML_OPEN = Buffer.from('<?xml version="1.0" encoding="UTF-8"?><service_requests>')
  const XML_CLOSE = Buffer.from('</service_requests>')
  const COMMA = Buffer.from(',')
  const JSON_OPEN = Buffer.from('[')
  const JSON_CLOSE = Buffer.from(']')
  /**
   * A list answer as the cached renderings of its requests between the document's opening and
   * closing bytes, written to the socket as they are: no buffer of the whole answer is made (half
   * a megabyte per answer made the collector run for every few requests).
   */
  const sendRequests = (reply: FastifyReply, requests: readonly IndexedRequest[], format: Format, extensions: boolean): FastifyReply => {
    const parts: Buffer[] = [format === 'xml' ? XML_OPEN : JSON_OPEN]
    let length = parts[0]!.length
    requests.forEach((r, i) => {
      if (format === 'json' && i > 0) {
        parts.push(COMMA)
        length += 1
      }
      const bytes = renderedRequest(r, format, extensions)
      parts.push(bytes)
      length += bytes.length
    })
    const close = format === 'xml' ? XML_CLOSE : JSON_CLOSE
    parts.push(close)
    length += close.length
    return reply.type(CONTENT_TYPES[format]).header('content-length', length).send(Readable.from(parts, { objectMode: false }))
  }

  await app.register(
    async (scope) => {
      scope.setErrorHandler(open311ErrorHandler(log))
      // The spec's form encoding, read by the WHATWG URLSearchParams every client library agrees with
      // (repeated `attribute[code][]` fields kept, `+` as space).
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, new URLSearchParams(body as string)))

      scope.get<{ Params: { resource: string } }>('/:resource', { config: rateLimit, schema: resourceSchema, validatorCompiler: documentOnly }, async (request, reply) => {
        const { name, format } = splitResource(request.params.resource)
        const params = queryOf(request)
        checkJurisdiction(params)
        switch (name) {
          case 'discovery':
            return send(reply, {
              root: 'discovery',
              record: {
                changeset: OPEN311_CHANGESET,
                contact: 'Beyaz Masa (Alo 153)',
                key_service: 'API anahtarı (api_key) için belediyenin bilgi işlem birimine başvurun.',
                endpoints: [
                  {
                    specification: 'http://wiki.open311.org/GeoReport_v2',
                    url: `${request.protocol}://${request.host}${OPEN311_PREFIX}`,
                    changeset: OPEN311_CHANGESET,
                    type: 'production',
                    formats: ['text/xml', 'application/json'],
                  },
                ],
              },
            }, format)
          case 'services':
            return send(reply, { root: 'services', item: 'service', items: catalogue.categories.map(serviceRecord) }, format)
          case 'requests': {
            const extensions = flag(params, 'extensions')
            const ids = single(params, 'service_request_id')
            // The spec: a list of ids overrides every other filter.
            if (ids !== undefined) {
              const found: IndexedRequest[] = []
              for (const id of ids.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
                const parsed = parseTrackingCode(id)
                if (!parsed.ok) throw badRequest(`service_request_id geçersiz: '${id}' bir takip kodu değil (ör. K7MA-4PXR-9TK).`)
                const r = index.byTrackingCode(parsed.code)
                if (r !== undefined && !found.includes(r)) found.push(r)
              }
              return sendRequests(reply, found, format, extensions)
            }
            const window = windowOf(params, deps.now().getTime(), MAX_WINDOW_MS)
            const codes = single(params, 'service_code')?.split(',').map((s) => s.trim()).filter((s) => s !== '')
            for (const code of codes ?? []) if (categoryByCode(catalogue, code) === undefined) throw notFound(`service_code '${code}' bulunamadı.`)
            const statusText = single(params, 'status')
            let statuses: Set<CaseStatus> | undefined
            if (statusText !== undefined) {
              statuses = new Set()
              for (const s of statusText.split(',').map((x) => x.trim())) {
                if (s === 'open') OPEN_STATUSES.forEach((x) => statuses!.add(x))
                else if (s === 'closed') CLOSED_STATUSES.forEach((x) => statuses!.add(x))
                else throw badRequest(`status geçersiz: open veya closed olmalı (verilen: '${s}').`)
              }
            }
            const pageSize = wholeNumber(params, 'page_size', 1, MAX_PAGE_SIZE, MAX_PAGE_SIZE)
            const page = wholeNumber(params, 'page', 1, 1_000_000, 1)
            const items = index.query({
              ...window,
              ...(codes === undefined || codes.length === 0 ? {} : { serviceCodes: codes }),
              ...(statuses === undefined ? {} : { statuses }),
              listable,
              offset: (page - 1) * pageSize,
              limit: pageSize,
            })
            return sendRequests(reply, items, format, extensions)
          }
          case 'servicerequestupdates': {
            const window = windowOf(params, deps.now().getTime(), DEFAULT_UPDATES_WINDOW_MS)
            const updates = index.updates(window.fromMs, window.toMs, MAX_PAGE_SIZE, listable)
            return send(
              reply,
              {
                root: 'service_request_updates',
                item: 'request_update',
                items: updates.map((u) => ({
                  update_id: `${u.request.trackingCode}.${u.index}`,
                  service_request_id: u.request.trackingCode,
                  status: isOpenStatus(u.step.status) ? 'open' : 'closed',
                  updated_datetime: iso(u.step.atMs),
                  description: stepText(u.step, names),
                  media_url: null,
                  external_status_code: u.step.status,
                })),
              },
              format,
            )
          }
          default:
            throw notFound(`'${name}' diye bir kaynak yok: discovery, services, requests veya servicerequestupdates.`)
        }
      })

      scope.get<{ Params: { file: string } }>('/services/:file', { config: rateLimit, schema: serviceDefinitionSchema, validatorCompiler: documentOnly }, async (request, reply) => {
        const { name, format } = splitResource(request.params.file)
        checkJurisdiction(queryOf(request))
        const category = categoryByCode(catalogue, name)
        if (category === undefined) throw notFound(`service_code '${name}' bulunamadı.`)
        return send(reply, { root: 'service_definition', record: definitionRecord(category) }, format)
      })

      scope.get<{ Params: { file: string } }>('/requests/:file', { config: rateLimit, schema: requestSchema, validatorCompiler: documentOnly }, async (request, reply) => {
        const { name, format } = splitResource(request.params.file)
        const params = queryOf(request)
        checkJurisdiction(params)
        const parsed = parseTrackingCode(name)
        if (!parsed.ok) throw badRequest(`service_request_id geçersiz: '${name}' bir takip kodu değil (ör. K7MA-4PXR-9TK).`)
        const r = index.byTrackingCode(parsed.code)
        if (r === undefined) throw notFound(`service_request_id '${parsed.code}' bulunamadı.`)
        return sendRequests(reply, [r], format, flag(params, 'extensions'))
      })

      scope.post<{ Params: { resource: string } }>('/:resource', { onResponse: countSubmissions('open311'), schema: fileRequestSchema, validatorCompiler: documentOnly }, async (request, reply) => {
        const { name, format } = splitResource(request.params.resource)
        if (name !== 'requests') throw notFound(`'${name}' kaynağına POST yapılamaz; başvurular requests.${format} adresine gönderilir.`)
        if (!(request.body instanceof URLSearchParams)) throw badRequest('İstek gövdesi application/x-www-form-urlencoded biçiminde olmalı.')
        const params = request.body
        checkJurisdiction(params)
        const principal = channelOf(deps.access, single(params, 'api_key'))
        // The caller, as requireRole would set it (the metrics count the submission under its channel).
        request.principal = principal
        const code = single(params, 'service_code')
        if (code === undefined) throw badRequest('service_code eksik: hangi hizmet için başvurulduğunu belirtin (GET services).')
        const category = categoryByCode(catalogue, code)
        if (category === undefined) throw notFound(`service_code '${code}' bulunamadı.`)
        const body = checkSubmission(deps, submissionOf(params, category, principal.channel, principal.id))
        const result = await submitRequest(deps, body, { actor: channelActor(principal.id), correlationId: request.correlationId })
        if (result.outcome === 'conflict') {
          throw new Open311Error(409, ['Bu device_id ve client_reference ile daha önce farklı bir başvuru yapılmış; yeni bir başvuru için yeni bir client_reference kullanın.'])
        }
        if (result.outcome === 'created') {
          log.info({ caseId: result.receipt.caseId, channel: body.channel, key: principal.id, correlationId: request.correlationId }, 'case submitted over Open311')
          // Read-your-write: the request the client just filed is in GET requests when it asks.
          await index.waitUntil(result.position, { timeoutMs: 2_000 }).catch((error: unknown) => {
            if (!(error instanceof ProjectionNotReadyError)) throw error
          })
        }
        const account = single(params, 'account_id')
        return reply.code(result.outcome === 'created' ? 201 : 200).type(CONTENT_TYPES[format]).send(
          render(
            {
              root: 'service_requests',
              item: 'request',
              items: [{ service_request_id: result.receipt.trackingCode, service_notice: serviceNotice(catalogue, category), account_id: account ?? null }],
            },
            format,
          ),
        )
      })
    },
    { prefix: OPEN311_PREFIX },
  )
}

/** The channel an `api_key` stands for: a token of the access file with role `channel` and a configured `channel`; else 403. */
function channelOf(access: AccessControl, key: string | undefined): Principal & { readonly channel: NonNullable<Principal['channel']> } {
  if (key === undefined) throw new Open311Error(403, ['api_key eksik: başvuru göndermek için belediyenin verdiği API anahtarı gerekir.'])
  let principal: Principal
  try {
    principal = /\s/.test(key) ? access.authenticate(undefined) : access.authenticate(`Bearer ${key}`)
  } catch (error) {
    if (error instanceof UnauthorizedError) throw new Open311Error(403, ['api_key geçerli değil.'])
    throw error
  }
  const channel = principal.channel
  if (!principal.roles.includes('channel') || channel === undefined) {
    throw new Open311Error(403, ['Bu api_key ile başvuru gönderilemez: anahtar bir başvuru kanalına bağlı değil (erişim dosyasında role "channel" ve "channel" gerekir).'])
  }
  return { ...principal, channel }
}

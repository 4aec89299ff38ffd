import { ProblemError, type Logger } from '@civic-desk/service-kit'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { CONTENT_TYPES, render, type Format } from './format.ts'

/** The statuses an `Open311Error` carries: the spec's 400, 403 and 404, and 409 for a reused client reference. */
export type Open311Status = 400 | 403 | 404 | 409

/**
 * A GeoReport v2 error: an HTTP status and one Turkish description per problem, answered as the
 * spec's `errors` list (`code` = the status, `description`) in the format the client asked for.
 */
export class Open311Error extends Error {
  override readonly name = 'Open311Error'
  constructor(
    readonly status: Open311Status,
    readonly descriptions: readonly string[],
  ) {
    super(descriptions.join(' '))
  }
}

export const badRequest = (...descriptions: string[]): Open311Error => new Open311Error(400, descriptions)
export const notFound = (description: string): Open311Error => new Open311Error(404, [description])

/** The format a URL asks for: `.json` is JSON; anything else (and an error before the suffix is known) XML, the spec's required format. */
export function formatOfUrl(url: string): Format {
  const path = url.split('?', 1)[0] ?? ''
  return path.endsWith('.json') ? 'json' : 'xml'
}

const GENERIC_TR: Readonly<Record<number, string>> = {
  400: 'İstek geçersiz.',
  401: 'api_key geçerli değil.',
  403: 'Bu işlem için yetkiniz yok.',
  404: 'Aranan kaynak bulunamadı.',
  408: 'İstek zamanında tamamlanmadı.',
  413: 'İstek gövdesi çok büyük.',
  415: 'İstek gövdesi application/x-www-form-urlencoded olmalı.',
  429: 'Bu adresten çok fazla istek geldi; lütfen bir dakika sonra yeniden deneyin.',
  503: 'Hizmet şu anda yanıt veremiyor; lütfen biraz sonra yeniden deneyin.',
}

/** Turns any error of an Open311 route into the spec's error document; 5xx never say more than that something failed. */
export function open311ErrorHandler(logger: Logger) {
  return (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const format = formatOfUrl(request.url)
    let status: number
    let descriptions: readonly string[]
    if (error instanceof Open311Error) {
      status = error.status
      descriptions = error.descriptions
    } else {
      const given = error instanceof ProblemError ? error.status : (error as FastifyError).statusCode
      status = typeof given === 'number' && given >= 400 && given < 600 ? given : 500
      if (error instanceof ProblemError) for (const [name, value] of Object.entries(error.headers)) reply.header(name, value)
      descriptions = [status >= 500 && status !== 503 ? 'Sunucuda beklenmeyen bir hata oluştu; lütfen yeniden deneyin.' : (GENERIC_TR[status] ?? 'İstek işlenemedi.')]
    }
    if (status >= 500) logger.error({ err: error, url: request.url }, 'open311 request failed')
    else logger.info({ status, url: request.url, errors: descriptions }, 'open311 request rejected')
    const doc = { root: 'errors', item: 'error', items: descriptions.map((description) => ({ code: status, description })) }
    return reply.code(status).type(CONTENT_TYPES[format]).send(render(doc, format))
  }
}

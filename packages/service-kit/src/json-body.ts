/**
 * The JSON body parser of every app: fastify's own (same limits, same prototype-poisoning guard,
 * same errors), except that it reads the raw bytes and refuses a body that is not UTF-8. Fastify's
 * default decodes as it reads, turning every invalid byte into U+FFFD, so a citizen's text would be
 * stored with replacement characters nobody typed; RFC 8259 only allows UTF-8 in JSON anyway.
 */
import { isUtf8 } from 'node:buffer'
import type { FastifyInstance } from 'fastify'
import { ValidationError } from './errors.ts'

/** Replaces the app's `application/json` parser with one that refuses invalid UTF-8 with a 400 problem. */
export function useStrictJsonParser(app: FastifyInstance): void {
  // Fastify's defaults for poisoned keys: refuse `__proto__` and `constructor.prototype`.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer
    if (!isUtf8(bytes)) {
      done(new ValidationError('The request body is not valid UTF-8; send JSON encoded as UTF-8.', [{ field: 'body', message: 'is not valid UTF-8' }]), undefined)
      return
    }
    parseJson(request, bytes.toString('utf8'), done)
  })
}

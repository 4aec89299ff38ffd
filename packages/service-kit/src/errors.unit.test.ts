import t from 'tap'
import { z } from 'zod'
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  UnauthorizedError,
  ValidationError,
  parseWith,
} from './errors.ts'

t.test('each error class has its stable code, status and title', async (t) => {
  const rows = [
    new ValidationError('bad', [{ field: 'body', message: 'x' }]),
    new UnauthorizedError('who are you'),
    new ForbiddenError('no'),
    new NotFoundError('gone'),
    new ConflictError('taken'),
    new PreconditionFailedError('stale'),
    new PayloadTooLargeError('big'),
  ].map((e) => [e.name, e.status, e.code, e.title, e.detail])
  t.same(rows, [
    ['ValidationError', 400, 'validation_failed', 'Request validation failed', 'bad'],
    ['UnauthorizedError', 401, 'unauthorized', 'Authentication required', 'who are you'],
    ['ForbiddenError', 403, 'forbidden', 'Forbidden', 'no'],
    ['NotFoundError', 404, 'not_found', 'Not found', 'gone'],
    ['ConflictError', 409, 'conflict', 'Conflict', 'taken'],
    ['PreconditionFailedError', 412, 'precondition_failed', 'Precondition failed', 'stale'],
    ['PayloadTooLargeError', 413, 'payload_too_large', 'Payload too large', 'big'],
  ])
  const withExtras = new PreconditionFailedError('stale', { extensions: { currentRevision: 4 }, cause: new Error('inner') })
  t.same(withExtras.extensions, { currentRevision: 4 })
  t.equal((withExtras.cause as Error).message, 'inner')
})

const Body = z.strictObject({
  description: z.string().trim().min(1),
  location: z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).optional(),
  tags: z.array(z.string().min(1)).optional(),
})

function validationErrorOf(fn: () => unknown): ValidationError {
  try {
    fn()
  } catch (error) {
    if (error instanceof ValidationError) return error
    throw error
  }
  throw new Error('expected a ValidationError')
}

t.test('parseWith returns the parsed value', async (t) => {
  t.same(parseWith(Body, { description: '  Çöp toplanmadı ' }, 'body'), { description: 'Çöp toplanmadı' })
})

t.test('parseWith names every bad field with a dotted path, unknown keys included', async (t) => {
  const error = validationErrorOf(() =>
    parseWith(Body, { description: '', location: { lat: 123, lon: 27, alt: 5 }, tags: ['ok', ''], priority: 'high' }, 'body'),
  )
  t.equal(error.status, 400)
  t.same(
    error.errors.map((e) => e.field).sort(),
    ['description', 'location.alt', 'location.lat', 'priority', 'tags.1'],
  )
  t.match(error.errors.find((e) => e.field === 'priority'), { message: 'Unknown field' })
  t.match(error.errors.find((e) => e.field === 'location.lat'), { message: /<=90/ })
  t.match(error.detail, /^Invalid request body: /)
})

t.test('a root-level problem is reported against the part itself', async (t) => {
  const error = validationErrorOf(() => parseWith(Body, 'just text', 'body'))
  t.same(error.errors.map((e) => e.field), ['body'])
  const query = validationErrorOf(() => parseWith(z.strictObject({ page: z.coerce.number().int() }), { page: 'two' }, 'query'))
  t.same(query.errors.map((e) => e.field), ['page'])
  t.match(query.detail, /^Invalid query parameters: page/)
})

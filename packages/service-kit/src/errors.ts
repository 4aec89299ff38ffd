/**
 * The few error classes handlers throw. Each has a stable `code` (the last segment of its
 * problem `type` URI), an HTTP `status` and a `title`; `createHttpApp` turns them into
 * RFC 9457 problem+json once, so handlers never build error responses by hand.
 */
import type { z } from 'zod'

/** One invalid input field: `field` is a dotted path (`location.lat`) or the part's name (`body`). */
export interface FieldError {
  readonly field: string
  readonly message: string
}

/** Options every problem error accepts. */
export interface ProblemErrorOptions {
  /** The underlying error, kept for logs only (never sent to the client). */
  readonly cause?: unknown
  /** Extra members for the problem body (RFC 9457 extensions), e.g. `{ currentRevision: 3 }`. */
  readonly extensions?: Readonly<Record<string, unknown>>
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  readonly headers?: Readonly<Record<string, string>>
}

/** Base of every error that maps to a 4xx/5xx problem; `detail` is sent to the client. */
export abstract class ProblemError extends Error {
  abstract readonly status: number
  abstract readonly code: string
  abstract readonly title: string
  readonly extensions: Readonly<Record<string, unknown>>
  readonly headers: Readonly<Record<string, string>>

  constructor(detail: string, options: ProblemErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause })
    this.extensions = options.extensions ?? {}
    this.headers = options.headers ?? {}
  }

  /** The human-readable explanation for this occurrence (RFC 9457 `detail`). */
  get detail(): string {
    return this.message
  }
}

/** 400: the request is well-formed but some fields are invalid; lists every field. */
export class ValidationError extends ProblemError {
  override readonly name = 'ValidationError'
  readonly status = 400
  readonly code: string = 'validation_failed'
  readonly title = 'Request validation failed'
  readonly errors: readonly FieldError[]

  constructor(detail: string, errors: readonly FieldError[], options?: ProblemErrorOptions) {
    super(detail, options)
    this.errors = errors
  }
}

/** 401: no credentials, or credentials we do not recognise. */
export class UnauthorizedError extends ProblemError {
  override readonly name = 'UnauthorizedError'
  readonly status = 401
  readonly code = 'unauthorized'
  readonly title = 'Authentication required'
}

/** 403: authenticated, but not allowed to do this. */
export class ForbiddenError extends ProblemError {
  override readonly name = 'ForbiddenError'
  readonly status = 403
  readonly code = 'forbidden'
  readonly title = 'Forbidden'
}

/** 404: the addressed resource does not exist (or is not visible to the caller). */
export class NotFoundError extends ProblemError {
  override readonly name = 'NotFoundError'
  readonly status = 404
  readonly code = 'not_found'
  readonly title = 'Not found'
}

/** 409: the request conflicts with the current state (e.g. a duplicate submission). */
export class ConflictError extends ProblemError {
  override readonly name = 'ConflictError'
  readonly status = 409
  readonly code = 'conflict'
  readonly title = 'Conflict'
}

/** 412: an `If-Match` precondition (expected revision / ETag) does not hold. */
export class PreconditionFailedError extends ProblemError {
  override readonly name = 'PreconditionFailedError'
  readonly status = 412
  readonly code = 'precondition_failed'
  readonly title = 'Precondition failed'
}

/** 413: the request body is larger than the service accepts. */
export class PayloadTooLargeError extends ProblemError {
  override readonly name = 'PayloadTooLargeError'
  readonly status = 413
  readonly code = 'payload_too_large'
  readonly title = 'Payload too large'
}

/** 429: the caller sent too many requests in a time window; `Retry-After` says when to come back. */
export class TooManyRequestsError extends ProblemError {
  override readonly name = 'TooManyRequestsError'
  readonly status = 429
  readonly code = 'too_many_requests'
  readonly title = 'Too many requests'
}

/** 415: the request body has a media type the route cannot read. */
export class UnsupportedMediaTypeError extends ProblemError {
  override readonly name = 'UnsupportedMediaTypeError'
  readonly status = 415
  readonly code = 'unsupported_media_type'
  readonly title = 'Unsupported media type'
}

/** 503: the service cannot serve now (not ready, shutting down); clients may retry later. */
export class ServiceUnavailableError extends ProblemError {
  override readonly name = 'ServiceUnavailableError'
  readonly status = 503
  readonly code = 'service_unavailable'
  readonly title = 'Service unavailable'
}

/** Which part of a request `parseWith` is validating. */
export type RequestPart = 'body' | 'query' | 'params' | 'headers'

const PART_NAMES: Record<RequestPart, string> = {
  body: 'request body',
  query: 'query parameters',
  params: 'path parameters',
  headers: 'request headers',
}

/**
 * What a field error is made of: a zod issue, or one the zod type provider handed to fastify
 * (same code, path and message; `keys` for unknown keys).
 */
export interface IssueLike {
  readonly code: string
  readonly path: readonly PropertyKey[]
  readonly message: string
  readonly keys?: readonly string[]
}

/**
 * Converts zod issues to field errors: dotted paths (`items.0.name`), the part name for
 * the root, one entry per unknown key of a strict object.
 */
export function fieldErrorsFromZod(issues: readonly IssueLike[], where: RequestPart): FieldError[] {
  const out: FieldError[] = []
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys' && issue.keys !== undefined) {
      for (const key of issue.keys) out.push({ field: dotted([...issue.path, key], where), message: 'Unknown field' })
    } else {
      out.push({ field: dotted(issue.path, where), message: issue.message })
    }
  }
  return out
}

function dotted(path: readonly PropertyKey[], where: RequestPart): string {
  return path.length === 0 ? where : path.map((k) => String(k)).join('.')
}

/** The `ValidationError` for zod issues found in one part of a request: every bad field named. */
export function validationErrorFromZod(issues: readonly IssueLike[], where: RequestPart): ValidationError {
  const errors = fieldErrorsFromZod(issues, where)
  return new ValidationError(`Invalid ${PART_NAMES[where]}: ${errors.map((e) => e.field).join(', ')}.`, errors)
}

/**
 * Runs a zod schema over one part of a request and returns the parsed value, or throws a
 * `ValidationError` naming every bad field (unknown keys too, when the schema is strict).
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: RequestPart): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw validationErrorFromZod(result.error.issues, where)
}

/**
 * Intake over the bus: channel adapters (WhatsApp, Alo 153, CİMER, e-mail …) that cannot or
 * should not call `POST /v1/requests` produce the same body to `civic.intake.v1` instead.
 * Every message goes through the HTTP path's validation and `submitRequest`, so both paths
 * accept, refuse and de-duplicate the same requests:
 *
 * - **valid** → a CaseSubmitted is stored (or found: same channel + externalId = same case);
 *   the offset is committed only after the event is durable;
 * - **invalid** (wrong shape, unknown category, submittedAt in the future, too large) or a
 *   **conflict** (the externalId was used for a different request) → one `IntakeRejection` on
 *   `civic.intake.rejected.v1`, nothing stored, offset committed;
 * - **not JSON** (or not UTF-8) → never reaches us: the bus dead-letters it to `civic.dead-letter.v1`;
 * - **store or bus failure** → the handler throws and the bus retries with back-off (by
 *   default without limit: a citizen request is never dead-lettered because the store was down).
 *
 * Delivery is at-least-once, so a redelivery after a crash may publish a rejection twice; the
 * rejection's `source` (topic, partition, offset) identifies the message it is about, and that is
 * what consumers of the rejected topic de-duplicate on. Cases cannot be duplicated: on this topic
 * `externalId` is required, and (channel, externalId) fixes the case's stream.
 */
import { Buffer } from 'node:buffer'
import { z } from 'zod'
import { ExternalId, SubmissionBody } from '@civic-desk/contracts'
import { startTopicConsumer, type Consumer } from '@civic-desk/case-feed'
import { TOPICS, type Bus, type BusMessage } from '@civic-desk/messaging'
import { ConflictError, PayloadTooLargeError, ValidationError, type Logger } from '@civic-desk/service-kit'
import { TRACE_HEADERS } from '@civic-desk/tracing'
import { submitRequest, type SubmitDeps } from './submit.ts'
import { channelLabel, countSubmission } from './submission-metrics.ts'
import { channelActor, submissionConflict, validateSubmission, type SubmissionRules } from './validation.ts'

/** Header names intake reads on `civic.intake.v1` (all optional). */
export const INTAKE_HEADERS = {
  /**
   * Correlation id to record on the CaseSubmitted and pass down the case's events (like HTTP's
   * `x-request-id`). Absent or not 1–128 of `A-Za-z0-9._:;=+/@-`: `<topic>:<partition>:<offset>`.
   */
  correlationId: 'correlation-id',
  /**
   * Name of the channel adapter, recorded as the event's actor id (HTTP records the bearer
   * token's principal id). Self-declared: who may produce to the topic is Kafka's ACLs' business.
   * Absent or not 1–128 of `A-Za-z0-9._:;=+/@-`: `civic.intake.v1`.
   */
  adapterId: 'adapter-id',
  /**
   * W3C `traceparent` (and `tracestate`) of the adapter's span: the case's events and intake's
   * logs continue that trace. Absent or malformed: a new trace starts (never a rejection).
   */
  traceparent: TRACE_HEADERS.traceparent,
} as const

function withoutTraceHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const { [TRACE_HEADERS.traceparent]: _parent, [TRACE_HEADERS.tracestate]: _state, ...rest } = headers
  return rest
}

/** Header intake adds to a rejection, besides the original headers and `correlation-id`. */
export const REJECTION_CODE_HEADER = 'rejection-code'

/** Default of `IntakeConsumerOptions.maxValueBytes`: the HTTP body limit. */
export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024

/**
 * The value of a `civic.intake.v1` message: `POST /v1/requests`'s body with `externalId`
 * required, because (channel, externalId) is what makes a redelivered or re-sent message land
 * on the same case instead of a new one.
 */
export const IntakeMessageBody = SubmissionBody.extend({
  externalId: z
    .string({ error: (issue) => (issue.input === undefined ? 'required on the intake topic: the id of the request in your channel, so a resent message finds its case' : undefined) })
    .pipe(ExternalId),
})
export type IntakeMessageBody = z.infer<typeof IntakeMessageBody>

/**
 * Why a message was rejected, as the HTTP problem code:
 * `validation_failed` (a field is invalid: `errors` names it), `conflict` (the externalId was
 * already used for a different request), `payload_too_large` (value over the limit).
 */
export const IntakeRejectionCode = z.enum(['validation_failed', 'conflict', 'payload_too_large'])
export type IntakeRejectionCode = z.infer<typeof IntakeRejectionCode>

/**
 * The value of a `civic.intake.rejected.v1` message: why, which message, when, and the message's
 * value as received (so the adapter can fix and resend it). `value` is `null` for
 * `payload_too_large`, which would not fit; `source` still finds the original.
 */
export const IntakeRejection = z.strictObject({
  reason: z.strictObject({
    code: IntakeRejectionCode,
    /** The HTTP problem's title, e.g. `Request validation failed`. */
    title: z.string().min(1),
    /** The HTTP problem's detail: what is wrong, in one sentence. */
    detail: z.string().min(1),
    /** One entry per bad field: dotted path (`location.lat`; `body` = the value as a whole), message. */
    errors: z.array(z.strictObject({ path: z.string().min(1), message: z.string() })),
  }),
  /** Coordinates of the rejected message: the key to de-duplicate rejections on. */
  source: z.strictObject({
    topic: z.string().min(1),
    partition: z.number().int().nonnegative(),
    offset: z.string().regex(/^\d+$/),
    key: z.string(),
  }),
  rejectedAt: z.iso.datetime(),
  value: z.json(),
})
export type IntakeRejection = z.infer<typeof IntakeRejection>

export interface IntakeConsumerOptions extends SubmitDeps, SubmissionRules {
  readonly bus: Bus
  readonly logger: Logger
  /** Consumer group on `civic.intake.v1`. Default `intake`. */
  readonly groupId?: string
  /** Largest accepted value (JSON text, bytes); larger ones are rejected. Default 64 KiB, as over HTTP. */
  readonly maxValueBytes?: number
  /**
   * Handler attempts per message before the bus dead-letters it. Only infrastructure failures
   * (store, bus) are retried, and they should wait for the outage to end rather than push a citizen
   * request into the dead letters: default unlimited (back-off capped at 30 s).
   */
  readonly maxAttempts?: number
  /** Bus back-off before the 2nd attempt, doubling. Default: the bus's (100 ms). */
  readonly retryBackoffMs?: number
}

/** What the consumer did since it started. */
export interface IntakeConsumerStatus {
  /** False once `stop` was called. */
  readonly running: boolean
  /** Handler calls: every delivery, redeliveries and retries after a failure included. */
  readonly received: number
  /** Cases created. */
  readonly created: number
  /** Messages whose case already existed (redelivery, resent message, same request over HTTP). */
  readonly duplicates: number
  /** Rejections published (a redelivered invalid message counts again). */
  readonly rejected: number
  /** Handler calls that threw (store or bus failure), each retried by the bus. */
  readonly failures: number
  /** The last failure, if any. */
  readonly lastError?: string
}

/** A running intake consumer. */
export interface IntakeConsumer {
  /** Leaves the consumer group: the message in flight finishes (and is committed) or stays uncommitted. Idempotent. */
  stop(): Promise<void>
  status(): IntakeConsumerStatus
}

// Visible, header- and log-safe characters only, like HTTP request ids.
const SANE_ID = /^[A-Za-z0-9._:;=+/@-]{1,128}$/

const saneHeader = (message: BusMessage, name: string): string | undefined => {
  const value = message.headers[name]
  return value !== undefined && SANE_ID.test(value) ? value : undefined
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The rejection's key: the message's own, else `<channel>:<externalId>` when the value has both as text. */
function rejectionKey(message: BusMessage): string {
  if (message.key !== '') return message.key
  const value = message.value
  if (isRecord(value) && typeof value['channel'] === 'string' && typeof value['externalId'] === 'string') return `${value['channel']}:${value['externalId']}`
  return ''
}

type Refusal = ValidationError | ConflictError | PayloadTooLargeError

/** The rejection reason for a refusal, in the HTTP problem's words. */
function reasonOf(error: Refusal): IntakeRejection['reason'] {
  if (error instanceof ValidationError) {
    return { code: 'validation_failed', title: error.title, detail: error.detail, errors: error.errors.map((e) => ({ path: e.field, message: e.message })) }
  }
  if (error instanceof ConflictError) {
    return {
      code: 'conflict',
      title: error.title,
      detail: error.detail,
      errors: [{ path: 'externalId', message: 'already used for a different request in this channel' }],
    }
  }
  return { code: 'payload_too_large', title: error.title, detail: error.detail, errors: [] }
}

/**
 * Joins `groupId` on `civic.intake.v1` from the oldest retained message (requests published
 * before intake first started are not lost) and stores every valid request as a case.
 * Resolves once subscribed.
 */
export async function startIntakeConsumer(options: IntakeConsumerOptions): Promise<IntakeConsumer> {
  const { bus } = options
  const groupId = options.groupId ?? 'intake'
  const maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES
  if (!Number.isSafeInteger(maxValueBytes) || maxValueBytes < 1) throw new RangeError(`startIntakeConsumer: maxValueBytes must be an integer >= 1, got ${maxValueBytes}`)
  const log = options.logger.child({ component: 'intake-consumer' })

  const reject = async (message: BusMessage, error: Refusal, correlationId: string): Promise<'rejected'> => {
    const reason = reasonOf(error)
    const source = { topic: message.topic, partition: message.partition, offset: message.offset, key: message.key }
    const rejection: IntakeRejection = {
      reason,
      source,
      rejectedAt: options.now().toISOString(),
      // Came out of JSON.parse, so it is JSON; too large to pass on whole.
      value: reason.code === 'payload_too_large' ? null : (message.value as IntakeRejection['value']),
    }
    await bus.publish(TOPICS.intakeRejected, [
      {
        key: rejectionKey(message),
        value: rejection,
        // The adapter's trace headers are replaced by intake's own span (the bus adds them): the rejection continues the trace.
        headers: { ...withoutTraceHeaders(message.headers), [INTAKE_HEADERS.correlationId]: correlationId, [REJECTION_CODE_HEADER]: reason.code },
      },
    ])
    // The value holds personal data: the log names the fields, never their contents.
    log.warn({ ...source, correlationId, code: reason.code, fields: reason.errors.map((e) => e.path), detail: reason.detail }, 'intake message rejected')
    countSubmission('kafka', channelLabel(isRecord(message.value) ? message.value['channel'] : undefined), reason.code)
    return 'rejected'
  }

  // Store or bus failures are thrown: a message neither stored nor rejected is never committed; the bus retries it.
  const handle = async (message: BusMessage): Promise<'created' | 'duplicate' | 'rejected'> => {
    const correlationId = saneHeader(message, INTAKE_HEADERS.correlationId) ?? `${message.topic}:${message.partition}:${message.offset}`
    let body: IntakeMessageBody
    try {
      // The bus parsed the text; its JSON form again is within a few bytes of what was sent.
      const bytes = Buffer.byteLength(JSON.stringify(message.value), 'utf8')
      if (bytes > maxValueBytes) throw new PayloadTooLargeError(`The message value has ${bytes} bytes; intake accepts at most ${maxValueBytes}.`)
      body = validateSubmission(options, message.value, IntakeMessageBody)
    } catch (error) {
      if (error instanceof ValidationError || error instanceof PayloadTooLargeError) return reject(message, error, correlationId)
      throw error
    }
    const actor = channelActor(saneHeader(message, INTAKE_HEADERS.adapterId) ?? TOPICS.intake)
    const result = await submitRequest(options, body, { actor, correlationId })
    const fields = { channel: body.channel, externalId: body.externalId, caseId: result.receipt.caseId, correlationId, partition: message.partition, offset: message.offset }
    switch (result.outcome) {
      case 'created':
        log.info({ ...fields, kind: body.kind, position: result.position, actor: actor.id }, 'case submitted')
        countSubmission('kafka', body.channel, undefined)
        return 'created'
      case 'duplicate':
        log.debug(fields, 'case already submitted; nothing stored')
        countSubmission('kafka', body.channel, undefined)
        return 'duplicate'
      case 'conflict':
        return reject(message, submissionConflict(body, result.receipt), correlationId)
      default: {
        const unreachable: never = result
        return unreachable
      }
    }
  }

  const consumer: Consumer = await startTopicConsumer({
    bus,
    topic: TOPICS.intake,
    groupId,
    logger: options.logger,
    handle,
    fromBeginning: true,
    maxAttempts: options.maxAttempts ?? Number.MAX_SAFE_INTEGER,
    ...(options.retryBackoffMs === undefined ? {} : { retryBackoffMs: options.retryBackoffMs }),
  })

  return {
    stop: () => consumer.stop(),
    status() {
      const { running, outcomes, retries, rejected: refused, lastError } = consumer.status()
      const created = outcomes['created'] ?? 0
      const duplicates = outcomes['duplicate'] ?? 0
      const rejected = outcomes['rejected'] ?? 0
      return { running, received: created + duplicates + rejected + retries + refused, created, duplicates, rejected, failures: retries + refused, ...(lastError === undefined ? {} : { lastError }) }
    },
  }
}

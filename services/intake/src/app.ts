import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { PublicCaseView, SubmissionBody, SubmissionReceipt, categoryByCode, departmentByCode, type Catalogue } from '@civic-desk/contracts'
import { NOT_IN_PUBLIC_VIEW, caseIdForTrackingCode, parseTrackingCode, replay, toPublicView, type CatalogueNames } from '@civic-desk/case-domain'
import { caseStreamId, decodeCaseEvent } from '@civic-desk/case-feed'
import { ACCESS_RULES, NotFoundError, problemResponses, TooManyRequestsError, ValidationError, createHttpApp, type AccessControl, type EventStoreDescription, type HttpTimeouts, type Logger, type ZodTypeProvider } from '@civic-desk/service-kit'
import { submitRequest, type SubmitDeps } from './submit.ts'
import { channelActor, checkSubmission, submissionConflict } from './validation.ts'
import { registerOpen311Routes } from './open311/routes.ts'
import { countSubmissions } from './submission-metrics.ts'
import type { Open311Index } from './open311/request-index.ts'

export interface IntakeDeps extends SubmitDeps {
  readonly catalogue: Catalogue
  readonly access: AccessControl
  readonly logger: Logger
  /** Body limit in bytes (64 KiB by default). */
  readonly bodyLimit?: number
  /** Public status look-ups allowed per client address and minute (120 by default). */
  readonly lookupsPerMinute?: number
  /** How long a client may take to send a request (createHttpApp's defaults when omitted). */
  readonly timeouts?: HttpTimeouts
  /** The event store in use, named with its head by `/readyz` (operators). */
  readonly eventStore?: EventStoreDescription
  /**
   * Open311 GeoReport v2 under `/open311/v2`, served when given: the request index its reads come
   * from, and the jurisdiction (`CIVIC_OPEN311_JURISDICTION`; unset = `jurisdiction_id` ignored).
   */
  readonly open311?: { readonly index: Open311Index; readonly jurisdiction?: string | undefined }
}

// Any text: what makes a tracking code valid is checked in the handler, which says what is wrong with it.
const LookupParams = z.strictObject({ trackingCode: z.string().describe('As printed on the receipt; case, spaces and dashes do not matter').meta({ examples: ['K7MA-4PXR-9TK'] }) })

/** The submission as the API description shows it, with an example a call centre would send. */
const SubmissionRequest = SubmissionBody.meta({
  examples: [
    {
      channel: 'call-center',
      externalId: 'alo153-20261120-0042',
      kind: 'complaint',
      category: 'yol-cukur',
      description: 'Sokağımızda büyük bir çukur var, araçlar zarar görüyor.',
      location: { neighbourhood: 'Kazımdirik', address: 'Şehit Öğretmen Sk. No:4', lat: 38.468213, lon: 27.209741 },
      citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', preferredChannel: 'sms' },
    },
  ],
})

const submitSchema = {
  tags: ['intake'],
  summary: 'Hand in a citizen request',
  description: '`201` for a new case (`Location` names its look-up), `200` for a repeated `(channel, externalId)` with the case as it is now, `409` when that key was used for another request.',
  body: SubmissionRequest,
  response: { 201: SubmissionReceipt.describe('A new case'), 200: SubmissionReceipt.describe('The same request again: the existing case'), ...problemResponses(409) },
}

const lookupSchema = {
  tags: ['intake'],
  summary: "The citizen's view of a request, by tracking code",
  description: 'Status, category, directorate, expected-by time and the public timeline; never personal data or internal notes. `400` for a mistyped code, `404` for an unknown one.',
  params: LookupParams,
  response: { 200: PublicCaseView },
}

/** Catalogue names for the public view. */
function catalogueNames(catalogue: Catalogue): CatalogueNames {
  return {
    category: (code) => categoryByCode(catalogue, code),
    department: (code) => departmentByCode(catalogue, code),
  }
}

/**
 * The intake HTTP API: channel adapters hand in requests, citizens look them up by tracking code.
 * Returns an app that is not listening; the composition root (or a test's inject) drives it.
 */
export async function buildIntakeApp(deps: IntakeDeps): Promise<FastifyInstance> {
  const app = createHttpApp({
    serviceName: 'intake',
    logger: deps.logger,
    access: deps.access,
    ...deps.timeouts,
    ...(deps.eventStore === undefined ? {} : { eventStore: deps.eventStore }),
    accessRules: ACCESS_RULES,
    bodyLimit: deps.bodyLimit ?? 64 * 1024,
    readiness: async () => ({
      ready: true,
      details: {
        eventStoreHead: await deps.store.headPosition(),
        // How far Open311's request index has followed the log (it answers while it catches up).
        ...(deps.open311 === undefined ? {} : { open311Index: { position: deps.open311.index.projection.position, requests: deps.open311.index.size } }),
      },
    }),
  })
  await registerIntakeRoutes(app, deps)
  return app
}

/**
 * Adds intake's routes to an app made by `createHttpApp` (with `access`): its own, or the one
 * standalone mode shares between all services.
 */
export async function registerIntakeRoutes(app: FastifyInstance, deps: IntakeDeps): Promise<void> {
  const names = catalogueNames(deps.catalogue)
  const log = deps.logger.child({ component: 'intake' })
  const api = app.withTypeProvider<ZodTypeProvider>()

  api.post('/v1/requests', { onRequest: deps.access.requireRole('channel'), onResponse: countSubmissions('http'), schema: submitSchema }, async (request, reply) => {
    const body = checkSubmission(deps, request.body)
    const principal = request.principal
    const result = await submitRequest(deps, body, {
      actor: channelActor(principal?.id ?? 'unknown'),
      correlationId: request.correlationId,
      ...(request.clientRequestId === null ? {} : { clientRequestId: request.clientRequestId }),
    })
    switch (result.outcome) {
      case 'created':
        log.info({ caseId: result.receipt.caseId, channel: body.channel, kind: body.kind, position: result.position, correlationId: request.correlationId }, 'case submitted')
        return reply.code(201).header('location', `/v1/requests/${result.receipt.trackingCode}`).send(result.receipt)
      case 'duplicate':
        log.info({ caseId: result.receipt.caseId, channel: body.channel, correlationId: request.correlationId }, 'repeated submission answered from the existing case')
        return reply.code(200).header('location', `/v1/requests/${result.receipt.trackingCode}`).send(result.receipt)
      case 'conflict':
        throw submissionConflict(body, result.receipt)
      default: {
        const unreachable: never = result
        return unreachable
      }
    }
  })

  // Codes are not guessable, and a per-address limit on the anonymous look-up keeps it that way
  // for anyone who tries to enumerate them.
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new TooManyRequestsError(`Too many status look-ups from your address; please try again in ${context.after}.`),
  })
  const lookupLimit = { max: deps.lookupsPerMinute ?? 120, timeWindow: '1 minute' }

  api.get('/v1/requests/:trackingCode', { config: { rateLimit: lookupLimit }, schema: lookupSchema }, async (request) => {
    const parsed = parseTrackingCode(request.params.trackingCode)
    if (!parsed.ok) {
      const why = {
        length: 'a tracking code has 11 characters, e.g. K7MA-4PXR-9TK',
        character: 'a tracking code uses only the digits 2–9 and the letters A–Z without I, L, O, Q and W',
        check: 'the check character does not match: one character is probably mistyped',
      }[parsed.reason]
      throw new ValidationError(`'${request.params.trackingCode}' is not a valid tracking code.`, [{ field: 'trackingCode', message: why }])
    }
    // Without the internal notes: a case with thousands of them answers as fast as one with none.
    const events = await deps.store.readStream(caseStreamId(caseIdForTrackingCode(parsed.code)), { excludeTypes: NOT_IN_PUBLIC_VIEW })
    const state = replay(events.map(decodeCaseEvent))
    if (state.status === 'none') throw new NotFoundError(`No application with tracking code ${parsed.code}.`)
    return toPublicView(state, names)
  })

  if (deps.open311 !== undefined) {
    await registerOpen311Routes(app, { ...deps, index: deps.open311.index, jurisdiction: deps.open311.jurisdiction, lookupLimit })
  }
}

/**
 * How the API description shows Open311 GeoReport v2: every answer as JSON or XML by the
 * resource's suffix (`.json` → `application/json`, `.xml` → `text/xml`), every error as the spec's
 * error list in the same format. The routes read their parameters themselves (repeated fields,
 * the spec's error list in Turkish), so these schemas describe and are never used to validate.
 */
import type { FastifySchemaCompiler } from 'fastify'
import { z } from 'zod'

const JSON_TYPE = 'application/json'
const XML_TYPE = 'text/xml'

/** Open311 routes keep their own parameter reading: the documented schemas validate nothing. */
export const documentOnly: FastifySchemaCompiler<unknown> = () => (value) => ({ value })

const Instant = z.string().describe('W3C ISO 8601 with the Istanbul offset, e.g. 2026-11-20T12:15:00+03:00')

const XmlDocument = z.string().describe('The same document as XML')

/** An answer as JSON (`json`) or XML. */
function both(description: string, json: z.ZodType): { description: string; content: Record<string, { schema: z.ZodType }> } {
  return { description, content: { [JSON_TYPE]: { schema: json }, [XML_TYPE]: { schema: XmlDocument } } }
}

const ErrorList = z.array(z.object({ code: z.number().int().describe('The HTTP status'), description: z.string().describe('What is wrong, in Turkish') }))

/** The spec's error list for each status an Open311 route answers with one. */
function errors(...statuses: readonly number[]): Record<number, ReturnType<typeof both>> {
  return Object.fromEntries(statuses.map((status) => [status, both('GeoReport v2 error list', ErrorList)]))
}

const Discovery = z.object({
  changeset: Instant,
  contact: z.string(),
  key_service: z.string(),
  endpoints: z.array(z.object({ specification: z.string(), url: z.string(), changeset: Instant, type: z.literal('production'), formats: z.array(z.string()) })),
})

const Service = z.object({
  service_code: z.string(),
  service_name: z.string(),
  description: z.string(),
  metadata: z.boolean().describe('Whether the service asks questions (see its definition)'),
  type: z.literal('realtime'),
  keywords: z.string(),
  group: z.string().describe('The directorate that answers'),
})

const ServiceDefinition = z.object({
  service_code: z.string(),
  attributes: z.array(
    z.object({
      variable: z.literal(true),
      code: z.string(),
      datatype: z.string(),
      required: z.boolean(),
      datatype_description: z.string().nullable(),
      order: z.number().int(),
      description: z.string(),
      values: z.array(z.object({ key: z.string(), name: z.string() })).optional(),
    }),
  ),
})

const ServiceRequest = z.object({
  service_request_id: z.string().describe('The tracking code'),
  status: z.enum(['open', 'closed']),
  status_notes: z.string(),
  service_name: z.string().nullable(),
  service_code: z.string().nullable(),
  agency_responsible: z.string().nullable(),
  service_notice: z.string().nullable(),
  requested_datetime: Instant,
  updated_datetime: Instant,
  expected_datetime: Instant.nullable(),
  address: z.string().nullable().describe('The neighbourhood only: never the street address'),
  notes: z
    .array(z.object({ datetime: Instant, description: z.string(), type: z.enum(['opened', 'activity', 'closed']) }))
    .optional()
    .describe('With `extensions=true`: every public step'),
})

const RequestUpdate = z.object({
  update_id: z.string(),
  service_request_id: z.string(),
  status: z.enum(['open', 'closed']),
  updated_datetime: Instant,
  description: z.string(),
  media_url: z.null(),
  external_status_code: z.string().describe('The case status'),
})

const FiledRequest = z.array(z.object({ service_request_id: z.string().describe('The tracking code'), service_notice: z.string(), account_id: z.string().nullable() }))

const Query = z.object({
  jurisdiction_id: z.string().optional().describe('Answered 404 when it names another jurisdiction (`CIVIC_OPEN311_JURISDICTION`)'),
  service_request_id: z.string().optional().describe('requests: comma-separated tracking codes; overrides every other filter'),
  service_code: z.string().optional().describe('requests: comma-separated service codes'),
  status: z.string().optional().describe('requests: `open`, `closed` or both, comma-separated'),
  start_date: Instant.optional().describe('requests, servicerequestupdates: from (at most 90 days before end_date)'),
  end_date: Instant.optional(),
  page: z.string().optional().describe('requests: 1-based page'),
  page_size: z.string().optional().describe('requests: 1–1000 (default 1000)'),
  extensions: z.enum(['true', 'false']).optional().describe('requests: add `notes`, the public steps'),
})

const READ_ERRORS = errors(400, 404, 429, 500, 503)

/** `GET /open311/v2/:resource` */
export const resourceSchema = {
  tags: ['open311'],
  summary: 'Open311 discovery, services, requests or request updates, as JSON or XML',
  description:
    '`:resource` is `discovery`, `services`, `requests` or `servicerequestupdates` (FixMyStreet), followed by `.json` or `.xml`. Lists leave out tips and categories kept out of public lists.',
  params: z.object({ resource: z.string().describe('`<name>.json` or `<name>.xml`').meta({ examples: ['services.json'] }) }),
  querystring: Query,
  response: {
    200: both('The resource: discovery (an object) or a list of services, requests or updates', z.union([Discovery, z.array(Service), z.array(ServiceRequest), z.array(RequestUpdate)])),
    ...READ_ERRORS,
  },
}

/** `GET /open311/v2/services/:file` */
export const serviceDefinitionSchema = {
  tags: ['open311'],
  summary: "Open311 service definition: the category's questions as attributes",
  params: z.object({ file: z.string().describe('`<service_code>.json` or `.xml`').meta({ examples: ['yol-cukur.json'] }) }),
  querystring: Query.pick({ jurisdiction_id: true }),
  response: { 200: both('The service definition', ServiceDefinition), ...READ_ERRORS },
}

/** `GET /open311/v2/requests/:file` */
export const requestSchema = {
  tags: ['open311'],
  summary: 'One Open311 request by tracking code, as JSON or XML',
  params: z.object({ file: z.string().describe('`<tracking code>.json` or `.xml`') }),
  querystring: Query.pick({ jurisdiction_id: true, extensions: true }),
  response: { 200: both('A list holding the request', z.array(ServiceRequest)), ...READ_ERRORS },
}

/** `POST /open311/v2/:resource` */
export const fileRequestSchema = {
  tags: ['open311'],
  summary: 'File an Open311 request (form data, authenticated by `api_key`)',
  description:
    '`requests.json` or `requests.xml`. The key is a channel token of the access file; its configured channel is the intake channel. Same validation, idempotency (`device_id` + `client_reference`) and store as `POST /v1/requests`: `201` new, `200` the same request again, `409` the same key for another request.',
  consumes: ['application/x-www-form-urlencoded'],
  params: z.object({ resource: z.string().meta({ examples: ['requests.json'] }) }),
  body: z
    .object({
      api_key: z.string().describe('A channel token of the access file'),
      service_code: z.string(),
      jurisdiction_id: z.string().optional(),
      lat: z.string().optional(),
      long: z.string().optional(),
      address_string: z.string().optional(),
      address_id: z.string().optional(),
      email: z.string().optional(),
      device_id: z.string().optional(),
      account_id: z.string().optional(),
      first_name: z.string().optional(),
      last_name: z.string().optional(),
      phone: z.string().optional(),
      description: z.string().optional(),
      media_url: z.string().optional(),
      client_reference: z.string().optional().describe('With device_id: the idempotency key'),
    })
    .catchall(z.string().describe('`attribute[<code>]` or `attribute[<code>][]`: answers to the service\'s questions'))
    .meta({
      examples: [
        {
          api_key: 'dev-channel',
          service_code: 'yol-cukur',
          address_string: 'Kazımdirik, Şehit Öğretmen Sk. No:4',
          description: 'Kaldırımın önünde derin bir çukur var.',
          device_id: 'belediye-mobil-7f3a',
          client_reference: '2026-11-20-0001',
        },
      ],
    }),
  response: { 201: both('A new request', FiledRequest), 200: both('The same request again', FiledRequest), ...errors(400, 403, 404, 409, 413, 415, 500, 503) },
}

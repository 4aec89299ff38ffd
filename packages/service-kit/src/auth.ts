/**
 * Bearer-token access control. Tokens are configured (as sha256 hashes in production) with
 * the principal they stand for; routes declare the roles they need with `requireRole`.
 * Tokens are looked up by the sha256 of what the client presented, so the lookup time does
 * not depend on how much of a stored token a guess matched.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { Channel, DepartmentCodeSchema } from '@civic-desk/contracts'
import { ForbiddenError, UnauthorizedError } from './errors.ts'

/** Every role, from the channel adapters that hand in requests to the operators who run the system. */
export const ROLES = ['channel', 'staff', 'supervisor', 'auditor', 'operator', 'privacy-officer'] as const

/** Schema of a role name. */
export const RoleSchema = z.enum(ROLES)

/** A role: `channel`, `staff`, `supervisor`, `auditor` or `operator`. */
export type Role = z.infer<typeof RoleSchema>

/** Who is calling: an id for audit trails, roles, and (for staff) the departments they work for. */
export interface Principal {
  readonly id: string
  readonly roles: readonly Role[]
  readonly departments: readonly string[]
  /** The channel a channel adapter's key stands for (Open311 `api_key`s), when configured. */
  readonly channel?: Channel
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireRole` once the caller is authenticated; `null` before. */
    principal: Principal | null
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/

const TokenFields = z.strictObject({
  id: z.string().min(1),
  roles: z.array(RoleSchema).min(1, { error: 'give at least one role' }),
  departments: z.array(DepartmentCodeSchema).default([]),
  /** For role `channel`: which channel the key hands requests in for (e.g. `mobile-app`); Open311 needs it. */
  channel: Channel.optional(),
  token: z.string().min(8, { error: 'plain tokens must have at least 8 characters' }).optional(),
  tokenSha256: z
    .string()
    .regex(SHA256_HEX, { error: 'must be 64 lower-case hex characters (sha256 of the token)' })
    .optional(),
})

/**
 * One configured token: the principal plus exactly one of `token` (plain, for development)
 * or `tokenSha256` (hex sha256 of the token; prefer it in production).
 */
export const AccessTokenSchema = TokenFields.check((ctx) => {
  const { token, tokenSha256, roles, departments, channel } = ctx.value
  if ((token === undefined) === (tokenSha256 === undefined)) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: 'give exactly one of "token" or "tokenSha256"' })
  }
  if (channel !== undefined && !roles.includes('channel')) {
    ctx.issues.push({ code: 'custom', input: ctx.value, path: ['channel'], message: 'only a token with role "channel" stands for a channel' })
  }
  if (roles.includes('staff') && departments.length === 0) {
    ctx.issues.push({ code: 'custom', input: ctx.value, path: ['departments'], message: 'staff need at least one department' })
  }
}).transform(({ token, tokenSha256, ...principal }) =>
  token !== undefined ? { ...principal, token } : { ...principal, tokenSha256: tokenSha256 ?? '' },
)

/** The access configuration: `{ tokens: [...] }`. */
export const AccessConfigSchema = z.strictObject({ tokens: z.array(AccessTokenSchema) })

/** A validated access configuration. */
export type AccessConfig = z.output<typeof AccessConfigSchema>
/** An access configuration as written (departments optional). */
export type AccessConfigInput = z.input<typeof AccessConfigSchema>
/** One validated token entry. */
export type AccessToken = AccessConfig['tokens'][number]

/** Thrown when an access configuration is invalid; never contains token values. */
export class AccessConfigError extends Error {
  override readonly name = 'AccessConfigError'
}

/** What `createAccessControl` returns: authentication plus the per-route role check. */
export interface AccessControl {
  /** The principal for an `Authorization` header value; throws a 401 `UnauthorizedError` otherwise. */
  authenticate(authorization: string | undefined): Principal
  /**
   * A fastify hook (use as `preHandler`, or `onRequest` to reject before the body is read)
   * that authenticates the caller, sets `request.principal`, and answers 403 unless the
   * principal has at least one of `roles` (no roles: any authenticated caller).
   */
  requireRole(...roles: Role[]): (request: FastifyRequest, reply: FastifyReply) => Promise<void>
}

/** Hex sha256 of a token, as written in `tokenSha256`. */
export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

const CHALLENGE = 'Bearer realm="civic-desk"'

/** Builds access control from a configuration (validated again here; duplicate tokens are refused). */
export function createAccessControl(config: AccessConfigInput): AccessControl {
  const parsed = parseAccessConfig(config, 'access configuration')
  const byHash = new Map<string, Principal>()
  parsed.tokens.forEach((entry, i) => {
    const hash = 'token' in entry ? sha256Hex(entry.token) : entry.tokenSha256
    const other = byHash.get(hash)
    if (other !== undefined) {
      throw new AccessConfigError(`Invalid access configuration: tokens[${i}] (${entry.id}) uses the same token as ${other.id}`)
    }
    byHash.set(
      hash,
      Object.freeze({ id: entry.id, roles: Object.freeze([...entry.roles]), departments: Object.freeze([...entry.departments]), ...(entry.channel === undefined ? {} : { channel: entry.channel }) }),
    )
  })

  function authenticate(authorization: string | undefined): Principal {
    const match = authorization === undefined ? null : /^Bearer +(\S+) *$/i.exec(authorization)
    const token = match?.[1]
    if (token === undefined) {
      throw new UnauthorizedError('Send an "Authorization: Bearer <token>" header.', { headers: { 'www-authenticate': CHALLENGE } })
    }
    const principal = byHash.get(sha256Hex(token))
    if (principal === undefined) {
      throw new UnauthorizedError('The bearer token is not recognised.', {
        headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` },
      })
    }
    return principal
  }

  return {
    authenticate,
    requireRole(...roles) {
      const required = [...roles]
      return async (request) => {
        const principal = request.principal ?? authenticate(request.headers.authorization)
        request.principal = principal
        if (required.length > 0 && !required.some((role) => principal.roles.includes(role))) {
          throw new ForbiddenError(`This action requires one of the roles: ${required.join(', ')}.`, {
            extensions: { requiredRoles: required },
          })
        }
      }
    },
  }
}

/**
 * Development tokens, each equal to its id: `dev-channel`, `dev-supervisor`, `dev-auditor`,
 * `dev-operator`, `dev-privacy` (the KVKK privacy officer) and `dev-staff-<department>` for every department (the supervisor sees all).
 */
export function devAccessConfig(departmentCodes: readonly string[]): AccessConfig {
  const dev = (id: string, roles: Role[], departments: readonly string[] = [], channel?: Channel): AccessConfigInput['tokens'][number] => ({
    id,
    roles,
    departments: [...departments],
    ...(channel === undefined ? {} : { channel }),
    token: id,
  })
  return parseAccessConfig(
    {
      tokens: [
        dev('dev-channel', ['channel'], [], 'web'),
        dev('dev-supervisor', ['supervisor'], departmentCodes),
        dev('dev-auditor', ['auditor']),
        dev('dev-operator', ['operator']),
        dev('dev-privacy', ['privacy-officer']),
        ...departmentCodes.map((code) => dev(`dev-staff-${code}`, ['staff'], [code])),
      ],
    },
    'development access configuration',
  )
}

/** Where `loadAccessConfig` reads from: a JSON file, or the JSON text itself. */
export type AccessConfigSource = { readonly file: string } | { readonly json: string }

/** Reads and validates an access configuration from a JSON file or a JSON string. */
export function loadAccessConfig(source: AccessConfigSource): AccessConfig {
  const where = 'file' in source ? `access file ${source.file}` : 'access configuration JSON'
  let text: string
  if ('file' in source) {
    try {
      text = readFileSync(source.file, 'utf8')
    } catch (error) {
      throw new AccessConfigError(`Cannot read ${where}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
    }
  } else {
    text = source.json
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new AccessConfigError(`Invalid ${where}: not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  return parseAccessConfig(raw, where)
}

function parseAccessConfig(raw: unknown, where: string): AccessConfig {
  const result = AccessConfigSchema.safeParse(raw)
  if (result.success) return result.data
  const lines = result.error.issues.map((issue) => {
    const path = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '')
    const extra = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : ''
    return `  - ${path === '' ? '(root)' : path}: ${issue.message}${extra}`
  })
  throw new AccessConfigError(`Invalid ${where}:\n${lines.join('\n')}`)
}

/**
 * The access configuration a service runs with: the given file, or, when none is configured,
 * the development tokens (`devTokens: true`, which the caller must announce loudly).
 */
export function accessConfigOrDev(file: string | undefined, departmentCodes: readonly string[]): { readonly config: AccessConfig; readonly devTokens: boolean } {
  return file === undefined ? { config: devAccessConfig(departmentCodes), devTokens: true } : { config: loadAccessConfig({ file }), devTokens: false }
}

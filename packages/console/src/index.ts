/**
 * @civic-desk/console — the operator console: static ES modules (no build step) served by the
 * dashboard service, reading the `/v1/dashboards/*` and `/v1/ops/streams` APIs of the same origin.
 */
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'

/** Folder of the console's own files (HTML, CSS, ES modules). */
export const CONSOLE_PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url))

/** Chart.js's browser build, served straight from its npm package rather than copied into the repo. */
const CHART_JS_DIST = dirname(createRequire(import.meta.url).resolve('chart.js'))
const CHART_JS_FILE = 'chart.umd.min.js'

/** Own origin only; `data:` images for the empty favicon; charts draw on canvas. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export interface ConsoleOptions {
  /** Where the console is mounted; `/` by default. The pages use relative URLs, so any prefix works. */
  readonly prefix?: string
}

/**
 * Serves the operator console at `prefix` (default `/`): `index.html`, its modules and styles,
 * and Chart.js at `vendor/chart.umd.min.js`. Registered in its own encapsulated scope, so it
 * neither adds a catch-all route (each file gets its own route) nor clashes with another
 * `@fastify/static` of the host app.
 */
export async function registerConsole(app: FastifyInstance, options: ConsoleOptions = {}): Promise<void> {
  const prefix = normalisePrefix(options.prefix ?? '/')
  await app.register(async (scope) => {
    // Only our own files may run or be fetched: a value that slipped into markup could not execute.
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
      reply.header('x-content-type-options', 'nosniff')
      reply.header('referrer-policy', 'no-referrer')
    })
    await scope.register(fastifyStatic, {
      root: CONSOLE_PUBLIC_DIR,
      prefix,
      // One route per file instead of `prefix*`: unknown paths keep the host's problem+json 404.
      wildcard: false,
      index: ['index.html'],
      // Small files that change with each release: revalidate by ETag rather than cache for a day.
      cacheControl: true,
      maxAge: 0,
    })
    // A pinned library version: browsers may keep it for an hour.
    scope.get(`${prefix}vendor/${CHART_JS_FILE}`, (_request, reply) => reply.sendFile(CHART_JS_FILE, CHART_JS_DIST, { maxAge: 3_600_000 }))
  })
}

function normalisePrefix(prefix: string): string {
  const withLeading = prefix.startsWith('/') ? prefix : `/${prefix}`
  return withLeading.endsWith('/') ? withLeading : `${withLeading}/`
}

// Composition root of standalone mode: the whole system in one process on embedded defaults.
// The only module that reads process.env.
import { join, resolve } from 'node:path'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { buildIntakeApp, decodeTrackingKey, loadOrCreateTrackingKey } from '@civic-desk/intake'
import { accessConfigOrDev, createAccessControl, createLogger, installShutdown, loadCatalogue, parseConfigOrExit } from '@civic-desk/service-kit'
import { standaloneConfig } from './config.ts'

const config = parseConfigOrExit(standaloneConfig, process.env, 'civic-desk')

const logger = createLogger({ level: config.logLevel, name: 'civic-desk' })
const dataDir = resolve(config.dataDir)
const catalogue = loadCatalogue(config.catalogueFile)
const { config: accessConfig, devTokens } = accessConfigOrDev(config.accessFile, catalogue.departments.map((d) => d.code))
const access = createAccessControl(accessConfig)

const trackingKey = config.trackingKey !== undefined ? decodeTrackingKey(config.trackingKey) : loadOrCreateTrackingKey(join(dataDir, 'tracking.key')).key
const store = openSqliteEventStore({ file: join(dataDir, 'events.sqlite'), logger: logger.child({ component: 'event-store' }) })

const app = await buildIntakeApp({ store, catalogue, access, logger, trackingKey, now: () => new Date(), bodyLimit: config.bodyLimit, lookupsPerMinute: config.lookupsPerMinute })

installShutdown({
  logger,
  tasks: [
    { name: 'http', close: () => app.close() },
    { name: 'event store', close: () => store.close() },
  ],
})

await app.listen({ port: config.port, host: config.host })
const address = app.server.address()
const port = typeof address === 'object' && address !== null ? address.port : config.port
const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`

logger.info({ url, dataDir, head: await store.headPosition(), departments: catalogue.departments.length, categories: catalogue.categories.length }, 'civic-desk standalone is up')
if (devTokens) {
  logger.warn({ tokens: accessConfig.tokens.length }, 'DEVELOPMENT TOKENS ARE ACTIVE: anyone who knows them can use the API. Set CIVIC_ACCESS_FILE before going live.')
}
const lines = [
  '',
  `  civic-desk (standalone) → ${url}`,
  `  data: ${dataDir}`,
  ...(devTokens
    ? [
        '',
        '  !! Development tokens (no CIVIC_ACCESS_FILE given) — never use these in production:',
        '     channel adapters:  Bearer dev-channel',
        '     supervisor:        Bearer dev-supervisor',
        '     auditor:           Bearer dev-auditor',
        '     operator:          Bearer dev-operator',
        `     staff:             Bearer dev-staff-<department>  (${catalogue.departments.map((d) => d.code).join(', ')})`,
      ]
    : []),
  '',
  `  try: curl -s -X POST ${url}/v1/requests -H 'authorization: Bearer dev-channel' -H 'content-type: application/json' \\`,
  `         -d '{"channel":"web","kind":"complaint","category":"yol-cukur","description":"Sokağımızda büyük bir çukur var"}'`,
  '',
]
process.stderr.write(`${lines.join('\n')}\n`)

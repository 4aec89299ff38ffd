// The PostgreSQL side of `pnpm stack:up` / `stack:down`, with the driver the event store uses
// (so no psql is needed):
//   node infra/stack/postgres.mjs check <url> <schema>  exit 0 when the server answers, printing
//                                                       `log=yes|no keys=yes|no` (whether the schema
//                                                       and <schema>_privacy exist); else exit 1
//                                                       with the driver's reason on stderr
//   node infra/stack/postgres.mjs drop <url> <schema>   drops <schema> and <schema>_privacy
// The URL comes from CIVIC_PG_URL and is never printed here (it may hold a password).
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(fileURLToPath(new URL('../../packages/event-store/package.json', import.meta.url)))
const pg = require('pg')

const [command, url, schema] = process.argv.slice(2)
if (!['check', 'drop'].includes(command ?? '') || !url || !schema) {
  process.stderr.write('usage: node infra/stack/postgres.mjs check|drop <url> <schema>\n')
  process.exit(2)
}
if (!/^[a-z_][a-z0-9_]{0,54}$/.test(schema)) {
  process.stderr.write(`CIVIC_PG_SCHEMA=${schema}: lower-case letters, digits and _ only\n`)
  process.exit(2)
}

const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
client.on('error', () => undefined)
try {
  await client.connect()
  if (command === 'check') {
    const { rows } = await client.query('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])', [[schema, `${schema}_privacy`]])
    const names = new Set(rows.map((r) => r.nspname))
    process.stdout.write(`log=${names.has(schema) ? 'yes' : 'no'} keys=${names.has(`${schema}_privacy`) ? 'yes' : 'no'}\n`)
  } else {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.query(`DROP SCHEMA IF EXISTS ${schema}_privacy CASCADE`)
  }
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message || error.code || error.name : String(error)}\n`)
  process.exitCode = 1
} finally {
  await client.end().catch(() => undefined)
}

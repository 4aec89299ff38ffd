/**
 * `pnpm privacy:copy-keys --data-dir <standalone data folder> --to <postgres url> [--schema S]`
 *
 * The second half of moving a standalone installation onto PostgreSQL (after `pnpm store:copy`):
 * its key store and destruction log into `<S>_privacy` (S: --schema, else CIVIC_PG_SCHEMA, else
 * civic), all or nothing (copy-keys.ts). The services must then be given the data folder's master
 * key: CIVIC_MASTER_KEY=$(cat <data folder>/master.key).
 * Exit codes: 0 copied, 1 failed or refused (nothing changed), 2 usage error.
 */
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { progressLine, runCli, UsageError } from './cli-support.ts'
import { copyKeysToPostgres } from './copy-keys.ts'

const USAGE = `usage: pnpm privacy:copy-keys --data-dir <standalone data folder> --to <postgres url> [--schema S]

  Kişisel veri anahtarlarını ve imha kayıtlarını PostgreSQL'e taşır (pnpm store:copy'den sonra).
  Copies the personal data's key store and destruction log into PostgreSQL (after pnpm store:copy),
  schema <S>_privacy (S: --schema, else CIVIC_PG_SCHEMA, else civic). Then give every service the
  same master key: CIVIC_MASTER_KEY=$(cat <data folder>/master.key).`

runCli('privacy:copy-keys', async () => {
  let values: { 'data-dir'?: string; to?: string; schema?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({ options: { 'data-dir': { type: 'string' }, to: { type: 'string' }, schema: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }))
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (values['data-dir'] === undefined || values.to === undefined) throw new UsageError(`--data-dir and --to are required\n${USAGE}`)
  if (!/^postgres(ql)?:\/\//.test(values.to)) throw new UsageError(`--to must be a postgres:// URL\n${USAGE}`)
  const dataDir = resolve(values['data-dir'])
  const schema = `${values.schema ?? process.env.CIVIC_PG_SCHEMA ?? 'civic'}_privacy`
  const progress = progressLine()
  const result = await copyKeysToPostgres(
    { keysFile: join(dataDir, 'keys.sqlite'), destructionsFile: join(dataDir, 'destructions.sqlite'), connectionString: values.to, schema },
    (done, total) => progress(`anahtarlar / keys: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`, done === total),
  )
  process.stdout.write(
    [
      `kopyalandı / copied into ${schema}:`,
      `  data keys        ${result.dataKeys.toLocaleString('en-US')} (+ ${result.destroyedKeys.toLocaleString('en-US')} destroyed, kept as tombstones)`,
      `  subject index    ${result.subjects.toLocaleString('en-US')} entries`,
      `  destruction log  ${result.destructions.toLocaleString('en-US')} entries`,
      `next: give every service CIVIC_MASTER_KEY=$(cat ${join(dataDir, 'master.key')}) (the keys are wrapped under it)`,
      '',
    ].join('\n'),
  )
})

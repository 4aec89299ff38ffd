// pnpm bench:audit — what the tamper-evident log costs and how fast it is checked:
//  1. verification: `audit:verify`'s check (verifyStore) of the 1,000,000-event store that
//     bench:projections generates (made first when missing; a signed checkpoint is added to a copy),
//     events/s (target ≥ 300,000 on the 2-core reference machine), plus the time a service needs
//     to build the Merkle tree over it at start;
//  2. proofs: inclusion and consistency proofs and case bundles, time per proof;
//  3. the chain's cost at intake: `bench:intake` with hashing off (CIVIC_EVENT_HASHING=off: no chain,
//     no Merkle tree) and on, alternating, in the same run (target ≤ 5 % fewer submissions/s).
// Options (env): BENCH_EVENTS (1000000), BENCH_INTAKE_ROUNDS (2; 0 skips part 3), BENCH_SECONDS
// (intake's, 15), BENCH_PROOFS (10000).
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildAuditBundle, newSigningKeyPem, openAuditLog, signingKeyFromPem, verifyConsistency, verifyInclusion, verifyStore } from '../packages/audit/src/index.ts'
import { openBulkLog, openSqliteEventStore } from '../packages/event-store/src/index.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const rounds = Number(process.env.BENCH_INTAKE_ROUNDS ?? 2)
const proofs = Number(process.env.BENCH_PROOFS ?? 10_000)
const say = (line: string): void => void process.stderr.write(`${line}\n`)
const fmt = (n: number): string => Math.round(n).toLocaleString('en')
const quiet = { info: () => undefined, warn: (o: object, m: string) => say(`warn: ${m} ${JSON.stringify(o)}`), error: (o: object, m: string) => say(`error: ${m} ${JSON.stringify(o)}`) }
const percentile = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0

// ---- 1. the store -------------------------------------------------------------------------------
const generated = spawnSync(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', join(root, 'bench/projections.ts')], {
  env: { ...process.env, BENCH_ONLY: 'generate' },
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
})
if (generated.status !== 0) throw new Error(`bench:projections could not make the store (exit ${generated.status})`)
const source = generated.stdout.trim().split('\n').at(-1) as string
const dir = mkdtempSync(join(tmpdir(), 'civic-bench-audit-'))
const file = join(dir, 'events.sqlite')
copyFileSync(source, file)
const key = signingKeyFromPem(newSigningKeyPem(), 'bench key')

let store = openSqliteEventStore({ file })
let started = performance.now()
let audit = await openAuditLog({ store, key, logger: quiet })
await audit.ready()
const treeSeconds = (performance.now() - started) / 1000
say(`Merkle tree over ${fmt(audit.size)} events built by a service at start in ${treeSeconds.toFixed(1)} s`)
const checkpoint = await audit.checkpointNow()
if (checkpoint === undefined) throw new Error('no checkpoint written')

// ---- 2. proofs ----------------------------------------------------------------------------------
const size = checkpoint.treeSize
const root32 = Buffer.from(checkpoint.rootHash, 'hex')
const inclusion: number[] = []
let wrong = 0
for (let i = 0; i < proofs; i++) {
  const index = Math.floor(Math.random() * size)
  const t0 = performance.now()
  const proof = audit.inclusionProof(index, size)
  inclusion.push(performance.now() - t0)
  if (!verifyInclusion(index, size, Buffer.from(audit.eventHashAt(index), 'hex'), proof.map((p) => Buffer.from(p, 'hex')), root32)) wrong++
}
const consistency: number[] = []
for (let i = 0; i < 1000; i++) {
  const from = 1 + Math.floor(Math.random() * (size - 1))
  const t0 = performance.now()
  const proof = audit.consistencyProof(from, size)
  consistency.push(performance.now() - t0)
  if (!verifyConsistency(from, size, proof.map((p) => Buffer.from(p, 'hex')), Buffer.from(audit.root(from), 'hex'), root32)) wrong++
}
const bundles: number[] = []
for (let i = 0; i < 200; i++) {
  const index = Math.floor(Math.random() * size)
  const position = audit.positionAt(index)
  const [record] = await store.readAll({ after: position - 1, maxCount: 1 })
  if (record === undefined || !record.streamId.startsWith('case-')) continue
  const t0 = performance.now()
  await buildAuditBundle({ log: audit, store, caseId: record.streamId.slice(5), streamId: record.streamId })
  bundles.push(performance.now() - t0)
}
await audit.close()
await store.close()

// ---- 1b. verification ---------------------------------------------------------------------------
const log = await openBulkLog(file, { role: 'source' })
const cpuBefore = process.cpuUsage()
started = performance.now()
const verified = await verifyStore(log, {
  publicKey: key.publicKey,
  onProgress: (done, total) => process.stderr.write(`verifying ${fmt(done)}/${fmt(total)}\r`),
})
const verifySeconds = (performance.now() - started) / 1000
const cpu = process.cpuUsage(cpuBefore)
await log.close()
process.stderr.write('\n')
rmSync(dir, { recursive: true, force: true })

// ---- 3. intake with the chain off and on ----------------------------------------------------------
const intake: Record<'off' | 'on', number[]> = { off: [], on: [] }
for (let round = 0; round < rounds; round++) {
  for (const hashing of ['off', 'on'] as const) {
    say(`bench:intake with hashing ${hashing} (round ${round + 1} of ${rounds})…`)
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/intake.ts')], {
      env: { ...process.env, BENCH_HELLO: 'off', CIVIC_EVENT_HASHING: hashing },
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    })
    const match = /durable submissions\/s\s+([\d,]+)/.exec(run.stdout)
    if (run.status !== 0 || match === null) throw new Error(`bench:intake failed (exit ${run.status}):\n${run.stdout}`)
    intake[hashing].push(Number(match[1]!.replaceAll(',', '')))
  }
}
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)

process.stdout.write(
  [
    '',
    `bench:audit — ${fmt(verified.events)} events in ${fmt(verified.streams)} streams (bench:projections' store), one signed checkpoint`,
    `  audit:verify           ${fmt(verified.events / verifySeconds)} events/s   (${verifySeconds.toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU; target ≥ 300,000)`,
    `  tree at service start  ${treeSeconds.toFixed(2)} s for the whole log (${fmt(audit.size / treeSeconds)} events/s)`,
    `  inclusion proof        p50 ${percentile(inclusion, 50).toFixed(3)} ms, p99 ${percentile(inclusion, 99).toFixed(3)} ms (${fmt(proofs)} proofs in a tree of ${fmt(size)})`,
    `  consistency proof      p50 ${percentile(consistency, 50).toFixed(3)} ms, p99 ${percentile(consistency, 99).toFixed(3)} ms`,
    `  case bundle            p50 ${percentile(bundles, 50).toFixed(2)} ms, p99 ${percentile(bundles, 99).toFixed(2)} ms (${bundles.length} cases, read from the store)`,
    `  proofs that failed     ${wrong}`,
    ...(rounds === 0
      ? []
      : [
          `  intake, hashing off    ${intake.off.map(fmt).join(' / ')} submissions/s (mean ${fmt(mean(intake.off))})`,
          `  intake, hashing on     ${intake.on.map(fmt).join(' / ')} submissions/s (mean ${fmt(mean(intake.on))})`,
          `  cost of the chain      ${((1 - mean(intake.on) / mean(intake.off)) * 100).toFixed(1)} % fewer submissions/s (target ≤ 5 %)`,
        ]),
    '',
  ].join('\n'),
)

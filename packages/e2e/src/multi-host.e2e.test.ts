// The distributed services as separate hosts: each of intake, event-relay, routing,
// department-workflow, notification and dashboard runs in a Linux network namespace of its own
// (its own loopback, one veth on a bridge, its own address), with a data folder of its own, and
// reaches PostgreSQL (event store and key store), Kafka and Redis over the network only. Proves
// that no file is shared between services (docs/architecture.md, "What each service keeps
// where"): a Turkish complaint over HTTP and one from a channel adapter on civic.intake.v1 are
// routed, published to the directorate, answered to the citizen and counted on the dashboard.
//
// The topology, built here and removed at the end (also when a test fails):
//
//   root namespace: bridge cmh<id>br with 10.X.Y.1/24, on which listen
//     - a Kafka broker of this test (infra/kafka, KAFKA_HOST=10.X.Y.1: it advertises that address),
//     - TCP forwarders to PostgreSQL and Redis, which listen on 127.0.0.1 only;
//   one namespace cmh-<id>-<service> per service: lo, and eth0 = 10.X.Y.(11+n)/24 (a veth whose
//     other end is on the bridge), default route via 10.X.Y.1; the service listens on
//     0.0.0.0:8080 (every host the same port: they are different hosts).
//
// Needs root and iproute2, and Kafka (KAFKA_BROKERS: only to know Kafka is wanted; the test
// starts its own broker), PostgreSQL (CIVIC_TEST_POSTGRES_URL) and Redis (REDIS_URL). Skipped with
// the reason otherwise, unless CIVIC_REQUIRE_MULTIHOST=1 makes that a failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import t from 'tap'
import { caseIdOfStream } from '@civic-desk/case-feed'
import { AssignmentMessage } from '@civic-desk/department-workflow'
import { openPostgresEventStore, type EventStore, type RecordedEvent } from '@civic-desk/event-store'
import { dropSchema, postgresTestUrl } from '@civic-desk/event-store/testing'
import { TOPICS, createKafkaBus, type Bus, type BusMessage } from '@civic-desk/messaging'
import { createKafkaRawPublisher, kafkaTestBrokers } from '@civic-desk/messaging/testing'
import { isSealed, openConfiguredPrivacy, sealingEventStore, type OpenedPrivacy } from '@civic-desk/privacy'
import { deleteRedisPrefix, openRedisReadModelStore } from '@civic-desk/read-models'
import { redisTestUrl } from '@civic-desk/read-models/testing'
import { exclusiveHeavyTest } from '@civic-desk/service-kit/testing'
import { eventually, getJson, postJson, repoRoot, startTestBroker, type StackServiceName, type TestBroker } from './stack.ts'

/** The services, each on a host of its own, in the order they start. */
const HOSTS: readonly StackServiceName[] = ['intake', 'event-relay', 'routing', 'department-workflow', 'notification', 'dashboard']
/** Every service listens on this port of its own address. */
const PORT = 8080
/** Files that would mean a service keeps what must be on a server: the log, the keys, the bus, a local master key. */
const SHARED_STATE_FILES = ['events.sqlite', 'keys.sqlite', 'destructions.sqlite', 'bus.sqlite', 'master.key']

interface OverviewView {
  readonly position: number
  readonly totals: { readonly total: number; readonly byStatus: Record<string, number>; readonly byDepartment: Record<string, number> }
}
interface StreamsView {
  readonly head: number
  readonly consumers: ReadonlyArray<{ readonly name: string; readonly kind: string; readonly topic?: string; readonly position?: number; readonly lag: number }>
}
interface OutboxView {
  readonly total: number
  readonly entries: ReadonlyArray<{ readonly template: string; readonly channel: string; readonly to: string; readonly caseId: string; readonly text: string }>
}

/** One service on its own host. */
interface Host {
  readonly name: StackServiceName
  readonly netns: string
  readonly address: string
  readonly dataDir: string
  child?: ChildProcess
  output: string
}

/** Runs `ip …`; throws with its error output when it fails. */
function ip(...args: string[]): string {
  const result = spawnSync('ip', args, { encoding: 'utf8', timeout: 30_000 })
  if (result.error !== undefined) throw result.error
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr.trim()}`)
  return result.stdout
}

/** Why this machine cannot build the namespaces, or null when it can. */
function multiHostObstacle(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (run as root, e.g. in CI)'
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
  if (probe.error !== undefined) return `iproute2's \`ip\` is missing (${probe.error.message}): apt-get install iproute2`
  if (probe.status !== 0) return `\`ip netns list\` fails: ${probe.stderr.trim()}`
  return null
}

/** A /24 in 10.0.0.0/8 that no interface or route of this machine uses. */
function freeSubnet(): string {
  const used = ip('-4', 'route', 'show', 'table', 'all') + ip('-4', 'addr', 'show')
  for (let attempt = 0; attempt < 100; attempt++) {
    const prefix = `10.${64 + Math.floor(Math.random() * 128)}.${Math.floor(Math.random() * 256)}`
    if (!used.includes(`${prefix}.`)) return prefix
  }
  throw new Error('no free 10.x.y.0/24 for the test network')
}

/** Forwards TCP connections from `listenHost:<free port>` to `target` (PostgreSQL and Redis listen on 127.0.0.1 only). */
async function startForwarder(listenHost: string, target: { host: string; port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, listenHost, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Every file under `dir`, relative to it, sorted. */
function listFiles(dir: string): string[] {
  const files: string[] = []
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name)
      if (entry.isDirectory()) walk(path)
      else files.push(relative(dir, path))
    }
  }
  walk(dir)
  return files.sort()
}

/** The URL with its host and port replaced: the same server, seen from a namespace through a forwarder. */
function viaForwarder(url: string, host: string, port: number): string {
  const u = new URL(url)
  u.hostname = host
  u.port = String(port)
  return u.toString()
}

/** Whether a TCP connection from inside `netns` to host:port succeeds. */
function reachableFrom(netns: string, host: string, port: number): boolean {
  const result = spawnSync('ip', ['netns', 'exec', netns, 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`], { encoding: 'utf8', timeout: 10_000 })
  return result.status === 0
}

// A broker and six service processes: about 30 s here, more on a busy CI machine; tap's per-file default (120 s) is too tight.
// It counts from when the file holds the heavy-test lock (see exclusiveHeavyTest), not from any wait for it.
const RUN_MS = 10 * 60_000
t.setTimeout(RUN_MS)

const required = process.env.CIVIC_REQUIRE_MULTIHOST === '1'
/** What the test needs from the environment, with how to get it. */
const SERVERS = [
  ['KAFKA_BROKERS', 'Kafka: infra/kafka/start.sh, KAFKA_BROKERS=127.0.0.1:9092 (the test starts a broker of its own on the bridge)'],
  ['CIVIC_TEST_POSTGRES_URL', 'PostgreSQL: e.g. CIVIC_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test'],
  ['REDIS_URL', 'Redis: e.g. REDIS_URL=redis://127.0.0.1:6379'],
] as const
const missing = SERVERS.filter(([name]) => (process.env[name]?.trim() ?? '') === '').map(([name, how]) => `${name} is not set (${how})`)
const obstacle = multiHostObstacle() ?? (missing.length > 0 ? missing.join('; ') : null)
let gates: { pgUrl: string; redisUrl: string } | undefined
if (obstacle !== null) {
  const reason = `multi-host test (services in network namespaces): ${obstacle}`
  if (required) t.fail(`CIVIC_REQUIRE_MULTIHOST=1 but ${reason}`)
  else await t.test(reason, { skip: `${obstacle} (CIVIC_REQUIRE_MULTIHOST=1 makes this a failure)` }, async () => undefined)
} else {
  // Set: each must answer (the gates fail otherwise).
  const kafka = await kafkaTestBrokers(t)
  const pgUrl = kafka === undefined ? undefined : await postgresTestUrl(t)
  const redisUrl = pgUrl === undefined ? undefined : await redisTestUrl(t)
  if (pgUrl !== undefined && redisUrl !== undefined) gates = { pgUrl, redisUrl }
}

if (gates !== undefined) {
  const { pgUrl, redisUrl } = gates
  const id = randomBytes(3).toString('hex')
  const subnet = freeSubnet()
  const bridge = `cmh${id}br`
  const gateway = `${subnet}.1`
  const schema = `mh_${id}_${randomBytes(3).toString('hex')}`
  const redisPrefix = `civic-mh-${id}:`
  const masterKey = randomBytes(32).toString('hex')
  const hosts: Host[] = HOSTS.map((name, n) => ({
    name,
    netns: `cmh-${id}-${name}`,
    address: `${subnet}.${11 + n}`,
    // Each its own temporary folder: no common parent of the test's making.
    dataDir: mkdtempSync(join(tmpdir(), `civic-mh-${name}-`)),
    output: '',
  }))
  /** The root namespace's end of host n's veth (the other end is its eth0). */
  const vethOf = (n: number): string => `cmh${id}${n}`
  const host = (name: StackServiceName): Host => hosts.find((h) => h.name === name) as Host
  const url = (name: StackServiceName, path: string): string => `http://${host(name).address}:${PORT}${path}`

  let broker: TestBroker | undefined
  let observer: Bus | undefined
  let rawStore: EventStore | undefined
  let privacy: OpenedPrivacy | undefined
  const forwarders: { close(): Promise<void> }[] = []

  /** Removes the namespaces and the bridge, killing whatever still runs inside (synchronous: also at process exit). */
  const removeNetwork = (): void => {
    hosts.forEach((h, n) => {
      h.child?.kill('SIGKILL')
      const pids = spawnSync('ip', ['netns', 'pids', h.netns], { encoding: 'utf8' }).stdout ?? ''
      for (const pid of pids.split('\n').map(Number).filter((p) => Number.isSafeInteger(p) && p > 0)) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      // Deleting one end of a veth deletes both at once; a namespace whose processes were just
      // killed may linger in the kernel (and its veth with it) after its name is gone.
      spawnSync('ip', ['link', 'delete', vethOf(n)])
      spawnSync('ip', ['netns', 'delete', h.netns])
    })
    spawnSync('ip', ['link', 'delete', bridge])
  }
  const removeDataDirs = (): void => {
    for (const h of hosts) rmSync(h.dataDir, { recursive: true, force: true })
  }
  const atExit = (): void => {
    removeNetwork()
    removeDataDirs()
  }
  process.once('exit', atExit)
  // A timeout or Ctrl-C (tap sends SIGTERM): the same, then let the signal do what it would have done.
  const onSignal = (signal: NodeJS.Signals): void => {
    atExit()
    process.kill(process.pid, signal)
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)

  t.teardown(async () => {
    const steps: [string, () => unknown][] = [
      ['observer', () => observer?.close()],
      ['store reader', () => rawStore?.close()],
      ['key store', () => privacy?.close()],
      ['services and namespaces', removeNetwork],
      ['broker', () => broker?.destroy()],
      ['forwarders', () => Promise.all(forwarders.map((f) => f.close()))],
      ['schemas', () => Promise.all([dropSchema(pgUrl, schema), dropSchema(pgUrl, `${schema}_privacy`)])],
      ['redis keys', () => deleteRedisPrefix(redisUrl, redisPrefix)],
      ['data folders', removeDataDirs],
    ]
    for (const [what, step] of steps) {
      try {
        await step()
      } catch (error) {
        console.error(`multi-host teardown: ${what}: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
    process.removeListener('exit', atExit)
    process.removeListener('SIGTERM', onSignal)
    process.removeListener('SIGINT', onSignal)
    const left = [...ip('netns', 'list').split('\n'), ...ip('-o', 'link', 'show').split('\n')].filter((line) => line.includes(`cmh-${id}-`) || line.includes(`cmh${id}`))
    if (left.length > 0) console.error(`multi-host teardown: left over:\n${left.join('\n')}`)
  })

  const started = Date.now()
  const stopwatch = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`

  // ---- the network ------------------------------------------------------------------------
  ip('link', 'add', bridge, 'type', 'bridge')
  ip('addr', 'add', `${gateway}/24`, 'dev', bridge)
  ip('link', 'set', bridge, 'up')
  hosts.forEach((h, n) => {
    const outside = vethOf(n)
    ip('netns', 'add', h.netns)
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', `${outside}p`)
    ip('link', 'set', `${outside}p`, 'netns', h.netns)
    ip('link', 'set', outside, 'master', bridge)
    ip('link', 'set', outside, 'up')
    ip('-n', h.netns, 'link', 'set', `${outside}p`, 'name', 'eth0')
    ip('-n', h.netns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0')
    ip('-n', h.netns, 'link', 'set', 'eth0', 'up')
    ip('-n', h.netns, 'link', 'set', 'lo', 'up')
    ip('-n', h.netns, 'route', 'add', 'default', 'via', gateway)
  })

  // ---- the servers, reachable from the namespaces -----------------------------------------
  const pg = new URL(pgUrl)
  const redis = new URL(redisUrl)
  const pgForwarder = await startForwarder(gateway, { host: pg.hostname, port: Number(pg.port || 5432) })
  forwarders.push(pgForwarder)
  const redisForwarder = await startForwarder(gateway, { host: redis.hostname, port: Number(redis.port || 6379) })
  forwarders.push(redisForwarder)
  // One stack of processes with its broker at a time on this machine (see exclusiveHeavyTest).
  await exclusiveHeavyTest(t, 'multi-host.e2e', RUN_MS)
  broker = await startTestBroker({ host: gateway })
  const brokers = broker.brokers
  t.comment(`network ${subnet}.0/24 on ${bridge}, Kafka ${brokers.join(',')}, PostgreSQL via ${gateway}:${pgForwarder.port}, Redis via ${gateway}:${redisForwarder.port} (${stopwatch()})`)

  // ---- the services, each in its namespace --------------------------------------------------
  // Nothing of the test's own settings leaks into a service: it gets what a host of its own would.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('CIVIC_') && !['KAFKA_BROKERS', 'REDIS_URL', 'EVENTSTORE_URL', 'PORT', 'HOST', 'LOG_LEVEL'].includes(name)),
  )
  const startHost = async (h: Host): Promise<void> => {
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      PORT: String(PORT),
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      CIVIC_DATA_DIR: h.dataDir,
      KAFKA_BROKERS: brokers.join(','),
      CIVIC_EVENT_STORE: 'postgres',
      CIVIC_PG_URL: viaForwarder(pgUrl, gateway, pgForwarder.port),
      CIVIC_PG_SCHEMA: schema,
      CIVIC_MASTER_KEY: masterKey,
      ...(h.name === 'dashboard' ? { REDIS_URL: viaForwarder(redisUrl, gateway, redisForwarder.port), CIVIC_REDIS_PREFIX: redisPrefix } : {}),
    }
    const child = spawn('ip', ['netns', 'exec', h.netns, process.execPath, '--import', 'tsx', join(repoRoot, 'services', h.name, 'src/main.ts')], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
    h.child = child
    const collect = (d: Buffer): void => {
      h.output += d.toString()
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    const deadline = Date.now() + 90_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${h.name} exited with ${child.exitCode} during start:\n${h.output.slice(-4000)}`)
      try {
        if ((await fetch(url(h.name, '/healthz'))).ok) return
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${h.name} did not answer /healthz within 90 s:\n${h.output.slice(-4000)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  const logs = (): string => hosts.map((h) => `--- ${h.name} (${h.netns}, ${h.address})\n${h.output.slice(-5000)}`).join('\n')
  t.afterEach(async (t) => {
    if (!t.passing()) t.comment(logs().slice(-30_000))
  })

  // One after the other: several compilers at once on two cores only slow each other down.
  for (const h of hosts) {
    await startHost(h)
    t.comment(`${h.name} up on ${h.address}:${PORT} in namespace ${h.netns} (${stopwatch()})`)
  }

  // What the test reads, from the root namespace: the log in PostgreSQL, opened with the shared key store.
  rawStore = await openPostgresEventStore({ connectionString: pgUrl, schema, pollIntervalMs: 100 })
  privacy = await openConfiguredPrivacy({ masterKey, pgUrl, pgSchema: schema }, { dataDir: join(tmpdir(), 'civic-mh-unused') })
  const store = sealingEventStore(rawStore, privacy.keys, { caseIdOf: caseIdOfStream })
  const caseEvents = (): Promise<RecordedEvent[]> => store.readAll({ streamPrefix: 'case-' })

  // What a directorate's system sees on the topic.
  observer = createKafkaBus({ brokers, clientId: 'e2e-multihost-observer' })
  const assignments: BusMessage<AssignmentMessage>[] = []
  await observer.subscribe({ topic: TOPICS.assignments, groupId: `e2e-mh-assignments-${randomUUID()}`, fromBeginning: true, schema: AssignmentMessage, handler: async (m) => void assignments.push(m) })

  const outbox = (caseId: string): Promise<OutboxView> => getJson<OutboxView>(url('notification', `/v1/notifications/outbox?caseId=${caseId}`), 'dev-operator')
  /** Cases the stack took in, with the directorate routing chose. */
  const routedTo = new Map<string, string>()

  await t.test('each service is a host of its own: own address, no way to 127.0.0.1 of another, the servers over the network', async (t) => {
    t.equal(new Set(hosts.map((h) => h.address)).size, hosts.length, 'one address per host')
    for (const h of hosts) {
      const addresses = ip('-n', h.netns, '-4', '-o', 'addr', 'show')
      t.match(addresses, new RegExp(`eth0\\s+inet ${h.address.replaceAll('.', '\\.')}/24`), `${h.name}: eth0 has ${h.address}`)
      t.notOk(reachableFrom(h.netns, pg.hostname, Number(pg.port || 5432)), `${h.name}: PostgreSQL's ${pg.hostname}:${pg.port || 5432} is not reachable inside its namespace`)
      t.ok(reachableFrom(h.netns, gateway, pgForwarder.port), `${h.name}: PostgreSQL reachable over the network (${gateway}:${pgForwarder.port})`)
      const ready = await getJson<Record<string, unknown>>(url(h.name, '/readyz'), 'dev-operator')
      const shown = JSON.stringify(ready)
      t.ok(shown.includes(`${gateway}:${pgForwarder.port}`) && shown.includes(`schema ${schema}`), `${h.name}: its event store is PostgreSQL over the network: ${shown.slice(0, 300)}`)
      const up = h.output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; busTarget?: string; dataDir?: string })
        .find((line) => line.msg === `${h.name} is up`)
      t.match(up, { busTarget: brokers.join(','), dataDir: h.dataDir }, `${h.name}: Kafka at the bridge address, its own data folder`)
      if (h.name === 'dashboard') t.ok(shown.includes(`redis redis://${gateway}:${redisForwarder.port}`), `dashboard: read models in Redis over the network: ${shown.slice(0, 300)}`)
    }
  })

  await t.test('a complaint over HTTP to intake: routed, assignment published, citizen told, across hosts', async (t) => {
    const res = await postJson(url('intake', '/v1/requests'), 'dev-channel', {
      channel: 'web',
      externalId: `mh-web-${randomUUID()}`,
      kind: 'complaint',
      description: 'Kazımdirik Mahallesi 128 Sokak’ta büyük bir ÇUKUR var, araçlar zarar görüyor.',
      location: { neighbourhood: 'Kazımdirik', lat: 38.4605, lon: 27.2105 },
      citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 000 00 01', preferredChannel: 'sms' },
    })
    t.equal(res.status, 201, JSON.stringify(res.body))
    const { caseId, trackingCode } = res.body as { caseId: string; trackingCode: string }
    const status = await eventually(
      () => getJson<{ status: string; department: { code: string } | null }>(url('intake', `/v1/requests/${trackingCode}`)),
      (v) => v.status === 'routed',
      'routed by the routing host',
      60_000,
    )
    t.equal(status.department?.code, 'fen-isleri', 'ÇUKUR → public works')
    routedTo.set(caseId, 'fen-isleri')

    const assigned = await eventually(async () => assignments.filter((m) => m.value.caseId === caseId), (list) => list.length >= 1, 'the assignment on civic.assignments.v1', 60_000)
    t.equal(assigned[0]?.key, 'fen-isleri', 'published by the department-workflow host, keyed by department')
    t.match(assigned[0]?.value, { type: 'CaseAssigned', department: 'fen-isleri', trackingCode })
    t.notOk(JSON.stringify(assigned[0]?.value).includes('Ayşe'), 'no personal data for department systems')

    const told = await eventually(() => outbox(caseId), (o) => o.entries.some((e) => e.template === 'acknowledgement'), 'the acknowledgement in the notification host’s outbox', 60_000)
    const ack = told.entries.find((e) => e.template === 'acknowledgement')
    t.equal(ack?.channel, 'sms')
    // The phone is sealed in the log: the notification host opened it with the key store in PostgreSQL.
    t.match(ack?.to ?? '', /532/, `sent to the citizen's phone (${ack?.to}), opened with the shared key store`)

    const [submitted] = (await rawStore!.readStream(`case-${caseId}`)).filter((e) => e.type === 'CaseSubmitted')
    const sealedDescription = (submitted?.data as { description?: unknown } | undefined)?.description
    t.ok(typeof sealedDescription === 'string' && isSealed(sealedDescription), 'the description is sealed in PostgreSQL')
  })

  await t.test('a complaint produced to civic.intake.v1: taken in by intake, routed, assignment published, citizen told', async (t) => {
    const raw = createKafkaRawPublisher({ brokers, clientId: 'e2e-mh-whatsapp-adapter' })
    t.teardown(() => raw.close())
    const externalId = `mh-wa-${randomUUID()}`
    await raw.publishRaw(TOPICS.intake, [
      {
        key: `whatsapp:${externalId}`,
        value: JSON.stringify({
          channel: 'whatsapp',
          externalId,
          kind: 'complaint',
          description: 'Erzene Mahallesi Ege Sokak’ta çöpler üç gündür toplanmıyor, koku dayanılmaz.',
          location: { neighbourhood: 'Erzene' },
          citizen: { name: 'Mehmet Öztürk', phone: '+90 533 222 33 44', preferredChannel: 'whatsapp' },
        }),
      },
    ])
    const events = await eventually(
      caseEvents,
      (all) => all.some((e) => e.type === 'CaseSubmitted' && (e.data as { externalId?: string }).externalId === externalId),
      'the adapter’s case in the log',
      60_000,
    )
    const submitted = events.filter((e) => e.type === 'CaseSubmitted' && (e.data as { externalId?: string }).externalId === externalId)
    t.equal(submitted.length, 1, 'one case')
    const caseId = caseIdOfStream(submitted[0]!.streamId) as string
    const routed = await eventually(
      async () => (await store.readStream(`case-${caseId}`)).find((e) => e.type === 'CaseRouted' || e.type === 'CaseMarkedDuplicate'),
      (e) => e !== undefined,
      'routed',
      60_000,
    )
    const department = (routed?.data as { department: string }).department
    t.ok(department, `routed to ${department}`)
    routedTo.set(caseId, department)

    const assigned = await eventually(async () => assignments.filter((m) => m.value.caseId === caseId), (list) => list.length >= 1, 'the assignment on civic.assignments.v1', 60_000)
    t.equal(assigned[0]?.key, department, 'assignment keyed by the same department')
    t.notOk(JSON.stringify(assigned[0]?.value).includes('Mehmet'), 'no personal data for department systems')

    const told = await eventually(() => outbox(caseId), (o) => o.entries.some((e) => e.template === 'acknowledgement'), 'the acknowledgement', 60_000)
    const ack = told.entries.find((e) => e.template === 'acknowledgement')
    t.equal(ack?.channel, 'whatsapp', 'on the channel the citizen asked for')
    t.match(ack?.to ?? '', /533/, `to the citizen's phone (${ack?.to})`)
  })

  await t.test('the dashboard host counts both cases, from Kafka into Redis', async (t) => {
    const head = await rawStore!.headPosition()
    const view = await eventually(() => getJson<OverviewView>(url('dashboard', '/v1/dashboards/overview'), 'dev-operator'), (v) => v.position >= head && v.totals.total === routedTo.size, `the overview at the log's head ${head}`, 60_000)
    t.equal(view.totals.total, 2, 'two cases')
    t.equal(view.totals.byStatus.submitted ?? 0, 0, 'none left unrouted')
    const expected: Record<string, number> = {}
    for (const department of routedTo.values()) expected[department] = (expected[department] ?? 0) + 1
    t.same(view.totals.byDepartment, expected, 'per directorate, the cases routing put there')

    // Read straight from Redis (root namespace): what the dashboard host wrote over the network.
    const readModels = await openRedisReadModelStore({ url: redisUrl, prefix: redisPrefix })
    t.teardown(() => readModels.close())
    const active = await readModels.active()
    t.ok(active !== null && active.position >= head, `Redis holds the active read models at position ${active?.position} (head ${head})`)

    const streams = await eventually(
      () => getJson<StreamsView>(url('dashboard', '/v1/ops/streams'), 'dev-operator'),
      (v) => v.consumers.filter((c) => c.kind === 'kafka').length >= 4 && v.consumers.filter((c) => c.kind === 'kafka').every((c) => c.lag === 0),
      'every Kafka group at lag 0',
      60_000,
    )
    t.same(
      streams.consumers.filter((c) => c.kind === 'kafka' && c.lag !== 0).map((c) => `${c.name} ${c.topic ?? ''}: ${c.lag}`),
      [],
      'no Kafka consumer group behind',
    )
    // The relay's figure comes from its checkpoint file, on another host: see docs/architecture.md.
    const relay = streams.consumers.find((c) => c.name === 'event-relay')
    t.comment(`the dashboard's view of the relay on another host: position ${relay?.position}, lag ${relay?.lag} (no checkpoint file in its own folder)`)
  })

  await t.test('no data folder shared; each holds only its own state', async (t) => {
    const dirs = hosts.map((h) => h.dataDir)
    t.equal(new Set(dirs).size, dirs.length, 'six different folders')
    for (const a of dirs) for (const b of dirs) if (a !== b) t.notOk(b.startsWith(a + sep), `${b} is not inside ${a}`)
    for (const h of hosts) {
      const files = listFiles(h.dataDir)
      const sizes = files.map((f) => `${f} (${statSync(join(h.dataDir, f)).size} B)`)
      t.comment(`${h.name} ${h.dataDir}: ${sizes.length === 0 ? '(empty)' : sizes.join(', ')}`)
      t.same(
        files.filter((f) => SHARED_STATE_FILES.some((name) => f === name || f.startsWith(`${name}-`))),
        [],
        `${h.name}: no event store, key store, destruction log, bus file or master key in its folder`,
      )
    }
    t.ok(existsSync(join(host('event-relay').dataDir, 'event-relay.checkpoint.json')), 'the relay keeps its checkpoint')
    t.ok(existsSync(join(host('notification').dataDir, 'outbox.sqlite')), 'notification keeps its outbox')
    t.notOk(existsSync(join(host('dashboard').dataDir, 'event-relay.checkpoint.json')), 'the dashboard has no relay checkpoint of its own')
  })

  await t.test('SIGTERM stops every host’s service cleanly (exit 0)', async (t) => {
    for (const h of [...hosts].reverse()) {
      const child = h.child
      if (child === undefined || child.exitCode !== null) {
        t.fail(`${h.name} is not running`)
        continue
      }
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      t.equal(await exited, 0, `${h.name} exits 0`)
      clearTimeout(timer)
    }
    t.comment(`whole run ${stopwatch()}`)
  })
}

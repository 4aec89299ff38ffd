// docker-compose.yml, `pnpm stack:up` (infra/stack) and the services' own configuration must
// describe one stack: the same services on the same ports, only variables the services read, and
// one list of CIVIC_* variables so a shared environment never trips a service's typo check.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { dashboardConfig } from '@civic-desk/dashboard'
import { workflowConfig } from '@civic-desk/department-workflow'
import { relayConfig } from '@civic-desk/event-relay'
import { intakeConfig } from '@civic-desk/intake'
import { notificationConfig } from '@civic-desk/notification'
import { routingConfig } from '@civic-desk/routing'
import { PRODUCT_VARIABLES } from '@civic-desk/service-kit'
import { STACK_SERVICES as SERVICES, repoRoot, type StackServiceName } from './stack.ts'

const configs: Record<StackServiceName, { describe(): { env: string; default?: string | undefined }[] }> = {
  intake: intakeConfig,
  'event-relay': relayConfig,
  routing: routingConfig,
  'department-workflow': workflowConfig,
  notification: notificationConfig,
  dashboard: dashboardConfig,
}

interface ComposeService {
  command?: string[]
  environment?: Record<string, string | number>
  ports?: string[]
}
const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> }
const stackScript = readFileSync(join(repoRoot, 'infra/stack/common.sh'), 'utf8')

t.test('every service runs in compose with the entry point, port and health check stack:up uses', async (t) => {
  for (const name of SERVICES) {
    const service = compose.services[name]
    if (service === undefined) {
      t.fail(`${name} is missing from docker-compose.yml`)
      continue
    }
    t.same(service.command, ['node', '--import', 'tsx', `services/${name}/src/main.ts`], `${name}: entry point`)
    const stackPort = new RegExp(`^\\s*${name}\\) echo "\\$\\{[A-Z_]+:-(\\d+)\\}"`, 'm').exec(stackScript)?.[1]
    const defaultPort = configs[name].describe().find((row) => row.env === 'PORT')?.default
    t.equal(String(service.environment?.PORT), stackPort, `${name}: same port as infra/stack`)
    t.equal(stackPort, defaultPort, `${name}: and the service's own default`)
    t.same(service.ports, [`${stackPort}:${stackPort}`], `${name}: published on that port`)
    t.equal(service.environment?.KAFKA_BROKERS, 'kafka:9092', `${name}: talks to the compose broker`)
  }
})

t.test('compose sets only variables the service reads', async (t) => {
  for (const name of SERVICES) {
    const known = new Set(configs[name].describe().map((row) => row.env))
    const unread = Object.keys(compose.services[name]?.environment ?? {}).filter((env) => !known.has(env))
    t.same(unread, [], `${name} reads every variable compose gives it`)
  }
})

t.test('every CIVIC_* variable of every service is in the product list (so a shared environment is accepted)', async (t) => {
  for (const name of SERVICES) {
    const missing = configs[name]
      .describe()
      .map((row) => row.env)
      .filter((env) => env.startsWith('CIVIC_') && !PRODUCT_VARIABLES.has(env))
    t.same(missing, [], `${name}: listed in packages/service-kit/src/product-env.ts`)
  }
})

t.test('the topics job creates the topics of infra/kafka/topics.json', async (t) => {
  t.match(compose.services['kafka-topics']?.command, ['node', 'infra/kafka/topics.mjs', '--brokers', 'kafka:9092'])
  const topics = JSON.parse(readFileSync(join(repoRoot, 'infra/kafka/topics.json'), 'utf8')) as { topics: { name: string }[] }
  t.same(topics.topics.map((x) => x.name).sort(), ['civic.assignments.v1', 'civic.case-events.v1', 'civic.dead-letter.v1', 'civic.intake.rejected.v1', 'civic.intake.v1'])
})

t.test('Prometheus scrapes every service of the stack on its port, and compose mounts the metrics files', async (t) => {
  const prometheus = parse(readFileSync(join(repoRoot, 'infra/prometheus/prometheus.yml'), 'utf8')) as {
    scrape_configs: { job_name: string; authorization?: { credentials_file?: string }; static_configs: { targets: string[] }[] }[]
  }
  const targets = new Set(prometheus.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets)))
  for (const name of SERVICES) t.ok(targets.has(`${name}:${String(compose.services[name]?.environment?.PORT)}`), `${name} is scraped`)
  t.ok(targets.has('civic-desk:3000'), 'standalone is scraped')
  for (const job of prometheus.scrape_configs) t.equal(job.authorization?.credentials_file, '/run/secrets/civic-metrics-token', `${job.job_name}: bearer token from a file`)
  const mounts = (name: string) => ((compose.services[name] as { volumes?: string[] } | undefined)?.volumes ?? []).map((v) => v.split(':')[0]!).filter((v) => v.startsWith('./'))
  t.same(mounts('prometheus'), ['./infra/prometheus/prometheus.yml'])
  t.same(mounts('grafana'), ['./infra/grafana/provisioning', './infra/grafana/dashboards'])
  for (const name of SERVICES) t.ok(String(compose.services[name]?.environment?.CIVIC_METRICS_TOKEN).includes('CIVIC_METRICS_TOKEN'), `${name} gets the metrics token`)
})

// A child process for shutdown.int.test.ts: installs the shutdown handler for the scenario
// named in argv[2], then prints "ready" on stderr and waits for a signal (or, for "crash",
// throws an uncaught error). Logs go to stdout.
import { createLogger } from './logging.ts'
import { installShutdown, type ShutdownTask } from './shutdown.ts'

const scenario = process.argv[2]
const logger = createLogger({ level: 'info', name: 'shutdown-fixture' })
const ok = (name: string): ShutdownTask => ({ name, close: async () => {} })

const tasks: Record<string, ShutdownTask[]> = {
  ok: [ok('http'), ok('event store')],
  failing: [{ name: 'http', close: async () => Promise.reject(new Error('socket exploded')) }, ok('event store')],
  slow: [ok('http'), { name: 'event store', close: () => new Promise<void>(() => {}) }],
  crash: [ok('http'), ok('event store')],
  fatal: [ok('http'), ok('event store')],
}
const selected = scenario === undefined ? undefined : tasks[scenario]
if (selected === undefined) throw new Error(`unknown scenario ${String(scenario)}`)

// Only the "slow" scenario is meant to hit the deadline; the others get a generous one, so a
// machine busy with parallel test files cannot turn a clean shutdown into a time-out.
const shutdown = installShutdown({ logger, delayMs: scenario === 'slow' ? 500 : 10_000, tasks: selected })
// Keeps the event loop alive until a signal arrives, as a listening server would.
setInterval(() => {}, 60_000)
process.stderr.write('ready\n')
if (scenario === 'crash') {
  setTimeout(() => {
    throw new Error('unexpected state in projector')
  }, 50)
}
if (scenario === 'fatal') {
  // As a service does when its bus consumer stopped for good.
  setTimeout(() => shutdown.fail(new Error('consumer of civic.case-events.v1 stopped')), 50)
}

/**
 * Graceful shutdown: on SIGTERM or SIGINT (and on an uncaught error) close the service's
 * resources in order, log each step, and exit 0, or 1 when a step failed, an uncaught error
 * started the shutdown, or it took longer than `delayMs`. A second signal exits at once.
 * Built on close-with-grace (fastify's own choice) for the signal and timeout handling.
 */
import closeWithGrace from 'close-with-grace'
import type { Logger } from './logging.ts'

/** One resource to close, e.g. `{ name: 'http', close: () => app.close() }`. */
export interface ShutdownTask {
  readonly name: string
  readonly close: () => Promise<void>
}

/** Options of `installShutdown`. */
export interface InstallShutdownOptions {
  readonly logger: Logger
  /** Longest the whole shutdown may take before the process exits with 1; default 10 000 ms. */
  readonly delayMs?: number
  /** Closed in this order: usually the HTTP server first (stop taking work), stores last. */
  readonly tasks: readonly ShutdownTask[]
}

/** The installed handler. */
export interface Shutdown {
  /** Starts the shutdown now, as a signal would (the process exits when it is done). */
  close(): void
  /**
   * Starts the shutdown because the service can no longer do its job (e.g. its bus consumer
   * stopped for good): logged as fatal, and the process exits with 1 so a supervisor restarts it.
   */
  fail(error: Error): void
  /** Removes the signal handlers again (for tests and embedding). */
  uninstall(): void
}

/** Installs the shutdown handler; call once, in `main.ts`, after the resources exist. */
export function installShutdown(options: InstallShutdownOptions): Shutdown {
  const log = options.logger.child({ component: 'shutdown' })
  const tasks = [...options.tasks]
  const delay = options.delayMs ?? 10_000
  let fatal: Error | undefined
  const handler = closeWithGrace(
    {
      delay,
      // Only the two signals a supervisor sends; SIGHUP etc. keep their usual meaning.
      skip: ['SIGHUP', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGSEGV', 'SIGUSR2', 'beforeExit'],
      logger: {
        error: (message: unknown) => {
          if (message instanceof Error) log.error({ err: message }, 'shutdown failed')
          else log.error(String(message))
        },
      },
      onTimeout: (ms) => log.error({ delayMs: ms }, 'shutdown took too long; exiting with 1'),
      onSecondSignal: (signal) => log.error({ signal }, 'second signal during shutdown; exiting with 1'),
      onSecondError: (error) => log.error({ err: error }, 'another uncaught error during shutdown; exiting with 1'),
    },
    async ({ signal, err, manual }) => {
      if (err !== undefined) log.fatal({ err }, 'uncaught error; shutting down')
      else if (fatal !== undefined) log.fatal({ err: fatal }, 'the service cannot go on; shutting down')
      else log.info({ signal: signal ?? (manual === true ? 'manual' : 'unknown'), tasks: tasks.map((t) => t.name), delayMs: delay }, 'shutting down')
      const failed: string[] = []
      for (const task of tasks) {
        const started = performance.now()
        try {
          await task.close()
          log.info({ task: task.name, ms: Math.round(performance.now() - started) }, 'closed')
        } catch (error) {
          // Keep going: a failing HTTP close must not leave the store unflushed.
          failed.push(task.name)
          log.error({ task: task.name, err: error }, 'close failed')
        }
      }
      if (failed.length > 0) throw new Error(`shutdown finished, but these tasks failed: ${failed.join(', ')}`)
      // Thrown so close-with-grace exits with 1 rather than 0.
      if (fatal !== undefined) throw new Error(`shutdown complete after a fatal error: ${fatal.message}`)
      log.info({ exitCode: err === undefined ? 0 : 1 }, 'shutdown complete')
    },
  )
  return {
    close: () => handler.close(),
    uninstall: () => handler.uninstall(),
    fail(error) {
      if (fatal !== undefined) return
      fatal = error
      handler.close()
    },
  }
}

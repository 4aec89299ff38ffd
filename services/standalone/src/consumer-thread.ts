// The second thread of standalone mode, seen from the HTTP thread: starting it, asking it how its
// consumers are doing, stopping it, and noticing when it dies.
//
// Routing and notification react to case events and never answer an HTTP request themselves, so
// they run in a worker thread of their own: deciding routes, searching duplicates and rendering
// and recording messages no longer share an event loop with intake's requests. Both threads open
// the same SQLite files (WAL: readers never block the writer) and wake each other's subscriptions
// through a BroadcastChannel, so a case is routed as soon as it is stored.
import { Worker } from 'node:worker_threads'
import type { ReaderStatus } from '@civic-desk/case-feed'
import type { NotifierStatus } from '@civic-desk/notification'
import type { RoutingStatus } from '@civic-desk/routing'
import type { Logger, MetricsSnapshot } from '@civic-desk/service-kit'

/** The BroadcastChannel by which the threads' event-store instances on one file wake each other. */
export function eventStoreWakeChannel(file: string): string {
  return `civic-desk:event-store:${file}`
}

/** What the consumer thread reports when asked. */
export interface ConsumerSnapshot {
  readonly routing: RoutingStatus
  readonly notifier: NotifierStatus
  /** The thread's readers of the log (routing's group and duplicate index, notification's group). */
  readonly readers: readonly ReaderStatus[]
}

/** Messages from the HTTP thread to the consumer thread. */
export type ToConsumerThread = { readonly kind: 'snapshot'; readonly id: number } | { readonly kind: 'metrics'; readonly id: number } | { readonly kind: 'stop' }

/** Messages from the consumer thread to the HTTP thread. */
export type FromConsumerThread =
  | { readonly kind: 'started'; readonly providers: Readonly<Record<string, string>> }
  | { readonly kind: 'snapshot'; readonly id: number; readonly snapshot: ConsumerSnapshot }
  /** The thread's Prometheus figures (`registry.getMetricsAsJSON()`), which the HTTP thread sums into /metrics. */
  | { readonly kind: 'metrics'; readonly id: number; readonly metrics: MetricsSnapshot }
  | { readonly kind: 'stopped' }

/** The running consumer thread, as the HTTP thread holds it. */
export interface ConsumerThread {
  /** Which provider serves each notification channel (for the start banner). */
  readonly providers: Readonly<Record<string, string>>
  /** The thread's consumers as they are now; rejects when the thread is gone. */
  snapshot(): Promise<ConsumerSnapshot>
  /** The thread's Prometheus figures; rejects when the thread is gone. */
  metrics(): Promise<MetricsSnapshot>
  /** Lets the consumers finish or leave the message in hand, save their checkpoints and close the files. Idempotent. */
  stop(): Promise<void>
}

export interface StartConsumerThreadOptions {
  readonly logger: Logger
  /** Called once when the thread ends without being asked to (a crash): standalone then shuts down, so a supervisor restarts it. */
  readonly onDeath: (error: Error) => void
  /** Longest wait for the thread's consumers to catch up with the log and start. Default 120 s. */
  readonly startTimeoutMs?: number
  /** Longest wait for the thread to stop. Default 8 s. */
  readonly stopTimeoutMs?: number
  /** The thread's first module. Default: consumer-thread.worker.mjs; tests give stand-ins that misbehave. */
  readonly entry?: URL
}

/**
 * Starts the consumer thread and resolves once its consumers run. It reads its configuration from
 * the same environment as this thread. Rejects (and ends the thread) when it cannot start.
 */
export async function startConsumerThread(options: StartConsumerThreadOptions): Promise<ConsumerThread> {
  const log = options.logger.child({ component: 'consumer-thread' })
  const worker = new Worker(options.entry ?? new URL('./consumer-thread.worker.mjs', import.meta.url))
  // Every question is answered by a message with its id: a snapshot or the thread's metrics.
  const pending = new Map<number, { resolve: (answer: never) => void; reject: (e: Error) => void }>()
  let nextId = 0
  let stopping: Promise<void> | undefined
  let gone: Error | undefined
  // A thread that never started is the start's failure, not a death.
  let running = false

  const failAll = (error: Error): void => {
    gone ??= error
    for (const { reject } of pending.values()) reject(error)
    pending.clear()
  }

  const started = new Promise<Readonly<Record<string, string>>>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the consumer thread did not start within ${options.startTimeoutMs ?? 120_000} ms`))
      void worker.terminate()
    }, options.startTimeoutMs ?? 120_000)
    worker.on('message', (message: FromConsumerThread) => {
      if (message.kind === 'started') {
        clearTimeout(timer)
        running = true
        resolve(message.providers)
      } else if (message.kind === 'snapshot' || message.kind === 'metrics') {
        pending.get(message.id)?.resolve((message.kind === 'snapshot' ? message.snapshot : message.metrics) as never)
        pending.delete(message.id)
      }
    })
    worker.on('error', (error) => {
      clearTimeout(timer)
      log.error({ err: error }, 'the consumer thread failed')
      failAll(error)
      reject(error)
    })
    worker.on('exit', (code) => {
      clearTimeout(timer)
      const error = new Error(`the consumer thread (routing, notification) ended with exit code ${code}`)
      failAll(error)
      reject(error)
      if (running && stopping === undefined) options.onDeath(error)
    })
  })
  const providers = await started

  const ask = <T>(kind: 'snapshot' | 'metrics'): Promise<T> => {
    if (gone !== undefined) return Promise.reject(gone)
    return new Promise<T>((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve: resolve as (answer: never) => void, reject })
      worker.postMessage({ kind, id } satisfies ToConsumerThread)
    })
  }

  return {
    providers,
    snapshot: () => ask<ConsumerSnapshot>('snapshot'),
    metrics: () => ask<MetricsSnapshot>('metrics'),
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        if (gone !== undefined) return resolve()
        const timer = setTimeout(() => {
          log.error({ timeoutMs: options.stopTimeoutMs ?? 8_000 }, 'the consumer thread did not stop in time; ending it (unsaved checkpoints are redelivered on restart)')
          void worker.terminate()
        }, options.stopTimeoutMs ?? 8_000)
        worker.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        worker.postMessage({ kind: 'stop' } satisfies ToConsumerThread)
      })
      return stopping
    },
  }
}

/** @civic-desk/event-relay — tails the event store's global log from a durable checkpoint and publishes case events to the bus. */
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_RELAY_RETRY_BACKOFF_MS,
  MAX_RELAY_RETRY_BACKOFF_MS,
  startRelay,
  type Relay,
  type RelayOptions,
} from './relay.ts'
export { buildRelayApp, registerConsumerRoutes, registerRelayRoutes, relayStatus, type RelayAppDeps, type RelayStatus } from './app.ts'
export { relayConfig, type RelayConfig } from './config.ts'

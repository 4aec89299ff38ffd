/**
 * Every `CIVIC_*` variable some civic-desk service reads. One environment is often shared by all
 * services (a `.env` file, `pnpm stack:up`, docker-compose's common block), so a service ignores
 * the variables of the others instead of rejecting them; a name in none of them is still refused
 * as a typo. Each service's config test checks that its variables are listed here.
 */
export const PRODUCT_VARIABLES: ReadonlySet<string> = new Set([
  'CIVIC_ACCESS_FILE',
  'CIVIC_BODY_LIMIT_BYTES',
  'CIVIC_CATALOGUE_FILE',
  'CIVIC_CONSOLE_URL',
  'CIVIC_DATA_DIR',
  'CIVIC_DUPLICATE_GROUPS',
  'CIVIC_DUPLICATE_RADIUS_METERS',
  'CIVIC_DUPLICATE_TEXT_SIMILARITY',
  'CIVIC_DUPLICATE_WINDOW_HOURS',
  'CIVIC_EVENT_STORE',
  // Read by the event store adapters (integrity.ts): off only to measure what the hash chain costs.
  'CIVIC_EVENT_HASHING',
  'CIVIC_FALLBACK_DEPARTMENT',
  'CIVIC_HEADERS_TIMEOUT_MS',
  'CIVIC_HOLIDAY_FILE',
  'CIVIC_INFORMATION_DEPARTMENT',
  'CIVIC_LOOKUPS_PER_MINUTE',
  'CIVIC_MAX_CASE_BYTES',
  'CIVIC_MAX_NOTES_PER_CASE',
  'CIVIC_DESTRUCTION_PERIOD_DAYS',
  'CIVIC_AUDIT_SIGNING_KEY',
  'CIVIC_AUDIT_CHECKPOINT_INTERVAL_MS',
  'CIVIC_MASTER_KEY',
  'CIVIC_MAX_REOPENINGS',
  'CIVIC_METRICS',
  'CIVIC_METRICS_LISTEN',
  'CIVIC_METRICS_TOKEN',
  'CIVIC_MUNICIPALITY_NAME',
  // Read by `pnpm privacy:rotate-master-key` only: the master key to rotate to (else a new one).
  'CIVIC_NEW_MASTER_KEY',
  'CIVIC_NOTIFY_ATTEMPTS',
  'CIVIC_OPEN311_JURISDICTION',
  'CIVIC_NOTIFY_QUIET_MINUTES',
  'CIVIC_NOTIFY_BACKOFF_MS',
  'CIVIC_NOTIFY_TIMEOUT_MS',
  'CIVIC_PG_SCHEMA',
  'CIVIC_PG_URL',
  'CIVIC_REDIS_PREFIX',
  'CIVIC_RELAY_BATCH_SIZE',
  'CIVIC_RELAY_TOKEN',
  'CIVIC_RELAY_URL',
  'CIVIC_REQUEST_TIMEOUT_MS',
  // Read by the test suite, not by a service: with 1, the Kafka, Redis and browser tests fail
  // instead of skipping when KAFKA_BROKERS / REDIS_URL / Chromium are missing (set by .ci/run,
  // which also passes them on to the services the tests start).
  'CIVIC_REQUIRE_BROWSER',
  // Test suite only: the Chromium the browser tests drive (default /usr/bin/chromium).
  'CIVIC_CHROMIUM',
  'CIVIC_REQUIRE_KAFKA',
  // Test suite only: with 1, the multi-host test (network namespaces) fails instead of skipping when
  // it is not root, `ip` is missing or Kafka, PostgreSQL or Redis is not configured.
  'CIVIC_REQUIRE_MULTIHOST',
  // Test suite only: with 1, the PostgreSQL tests fail instead of skipping when
  // CIVIC_TEST_POSTGRES_URL is unset or PostgreSQL does not answer.
  'CIVIC_REQUIRE_POSTGRES',
  // Test suite only: with 1, the EventStoreDB contract tests fail instead of skipping when
  // EVENTSTORE_URL is unset or the server does not answer.
  'CIVIC_REQUIRE_EVENTSTORE',
  // The EventStoreDB server: of the distributed services with CIVIC_EVENT_STORE=eventstoredb, and
  // of the adapter's contract tests (e.g. esdb://127.0.0.1:2113?tls=false from `docker compose up
  // -d eventstoredb`). Not a CIVIC_ name, so the typo check never looks at it; listed so this file
  // names every variable read.
  'EVENTSTORE_URL',
  'CIVIC_REQUIRE_REDIS',
  // Test suite only: the PostgreSQL database the PostgreSQL tests use (each in schemas of its own).
  'CIVIC_TEST_POSTGRES_URL',
  'CIVIC_SLA_TICK_MS',
  'CIVIC_SMS_WEBHOOK_URL',
  'CIVIC_SMTP_FROM',
  'CIVIC_SMTP_URL',
  'CIVIC_STATUS_URL_BASE',
  'CIVIC_STORE_POLL_MS',
  'CIVIC_SUPERVISOR_DIGEST_AT',
  'CIVIC_SUPERVISOR_WEBHOOK_TOKEN',
  // W3C trace context on/off (tracing-config.ts); the OTEL_* variables are OpenTelemetry's, not listed.
  'CIVIC_TRACING',
  'CIVIC_TRACKING_KEY',
  'CIVIC_WEBHOOK_TOKEN',
  'CIVIC_WHATSAPP_WEBHOOK_URL',
  'CIVIC_WORKFLOWS_FILE',
])

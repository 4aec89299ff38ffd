/**
 * @civic-desk/service-kit — what every service is built from: config from the environment,
 * pino logging, typed errors mapped to RFC 9457 problems, the fastify app factory with health
 * and readiness, bearer-token access control, graceful shutdown, and catalogue loading.
 */
export {
  ConfigError,
  defineConfig,
  parseConfigOrExit,
  exitAtStart,
  envBoolean,
  envJson,
  envList,
  type ConfigEntries,
  type ConfigEntry,
  type ConfigOf,
  type ConfigProblem,
  type ConfigRow,
  type ConfigSpec,
  type DefineConfigOptions,
} from './config.ts'
/** Every CIVIC_* variable of the product: one shared environment serves all services. */
export { PRODUCT_VARIABLES } from './product-env.ts'
/** Config entries every process of the distributed stack shares: KAFKA_BROKERS, CIVIC_STORE_POLL_MS. */
export { distributedConfigEntries } from './distributed.ts'
/** Config entries of every process with an HTTP API: CIVIC_HEADERS_TIMEOUT_MS, CIVIC_REQUEST_TIMEOUT_MS. */
export { httpConfigEntries, httpTimeouts } from './http-config.ts'
/** CIVIC_TRACING and the OTEL_* variables: `startServiceTracing(config, process.env, name)` in main.ts. */
export { startServiceTracing, tracingConfigEntries } from './tracing-config.ts'
export { DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, type HttpTimeouts } from './protocol-errors.ts'
export { LOG_LEVELS, REDACTED_PATHS, createLogger, logLevelSchema, type CreateLoggerOptions, type LogLevel, type Logger } from './logging.ts'
export {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  ProblemError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  fieldErrorsFromZod,
  parseWith,
  validationErrorFromZod,
  type FieldError,
  type IssueLike,
  type ProblemErrorOptions,
  type RequestPart,
} from './errors.ts'
export {
  DEFAULT_BODY_LIMIT,
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_BASE,
  ProblemSchema,
  problemCodeOfStatus,
  problemResponses,
  createHttpApp,
  problemType,
  requestIdFrom,
  saneClientRequestId,
  type CreateHttpAppOptions,
  type EventStoreDescription,
  type ProblemDetails,
  type Readiness,
} from './http.ts'
/** The API description every app serves (`/openapi.json`, Swagger UI at `/docs`). */
export { API_TAGS, DOCS_PREFIX, OPENAPI_PATH, isHiddenRoute, registeredRoutes, type RegisteredRoute } from './openapi.ts'
/** The type provider routes declare their zod schemas through: `app.withTypeProvider<ZodTypeProvider>()`. */
export type { ZodTypeProvider } from 'fastify-type-provider-zod'
export {
  AccessConfigError,
  AccessConfigSchema,
  AccessTokenSchema,
  ROLES,
  RoleSchema,
  accessConfigOrDev,
  createAccessControl,
  devAccessConfig,
  loadAccessConfig,
  sha256Hex,
  type AccessConfig,
  type AccessConfigInput,
  type AccessConfigSource,
  type AccessControl,
  type AccessToken,
  type Principal,
  type Role,
} from './auth.ts'
/** Every route of the product with who may call it and what each caller sees. */
export { ACCESS_RULES, CONSOLE_FILES, accessRuleFor, type AccessRule, type Grant } from './access-rules.ts'
/** Prometheus metrics: the process's figures, GET /metrics, the CIVIC_METRICS_LISTEN listener, the append counter. */
export {
  CivicMetrics,
  configureMetrics,
  countingAppends,
  listenForMetrics,
  metricsConfigEntries,
  processMetrics,
  upProbe,
  type MetricsListener,
  type MetricsSettings,
  type MetricsSnapshot,
  type ScrapeSource,
} from './metrics.ts'
export { installShutdown, type InstallShutdownOptions, type Shutdown, type ShutdownTask } from './shutdown.ts'
export { defaultCatalogueFile, loadCatalogue } from './catalogue.ts'

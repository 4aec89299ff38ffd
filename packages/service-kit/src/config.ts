/**
 * Configuration from environment variables: one zod schema, one env name and one line of
 * documentation per key, parsed once in a service's `main.ts`. Everything wrong is
 * reported in one go, so an operator fixes the environment once, not once per restart.
 */
import { z } from 'zod'
import { PRODUCT_VARIABLES } from './product-env.ts'

/** One configuration key: where it comes from, how it is parsed, what it is for. */
export interface ConfigEntry<S extends z.ZodType = z.ZodType> {
  /** Environment variable name, e.g. `CIVIC_HTTP_PORT`. */
  readonly env: string
  /** Parses the raw string (or `undefined` when unset); put the default here (`.default(3000)`). */
  readonly schema: S
  /** One line for operators: what the variable does. */
  readonly doc: string
  /** Mask the value in error messages and `describe()` (tokens, passwords). */
  readonly secret?: boolean
}

/** A map of config keys to entries, as passed to `defineConfig`. */
export type ConfigEntries = Readonly<Record<string, ConfigEntry>>

/** The parsed config type of a set of entries: same keys, each schema's output type. */
export type ConfigOf<E extends ConfigEntries> = { readonly [K in keyof E]: z.output<E[K]['schema']> }

/** A row of `describe()`, for README tables. */
export interface ConfigRow {
  readonly env: string
  readonly doc: string
  /** The default as it would be written in the environment; `undefined` when there is none. */
  readonly default: string | undefined
  /** True when the variable has no default and must be set. */
  readonly required: boolean
}

/** One invalid or unknown variable. */
export interface ConfigProblem {
  readonly env: string
  /** The raw value as shown in messages (`***` for secrets); `undefined` when unset. */
  readonly value: string | undefined
  readonly message: string
}

/** Thrown by `ConfigSpec.parse`; the message lists every problem and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly problems: readonly ConfigProblem[]

  constructor(problems: readonly ConfigProblem[], knownPrefixed: readonly string[], prefix: string | false) {
    const lines = problems.map((p) => `  ${p.env}${p.value === undefined ? ' (not set)' : `=${p.value}`}: ${p.message}`)
    const hints = ['Fix: set or correct the variables above in the environment and start again.']
    hints.push('Unset a variable to use its default; variables without a default must be set.')
    if (prefix !== false && problems.some((p) => p.message.startsWith('unknown variable'))) {
      hints.push(`Known ${prefix}* variables: ${knownPrefixed.length === 0 ? '(none)' : knownPrefixed.join(', ')}.`)
    }
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}\n${hints.join('\n')}`,
    )
    this.problems = problems
  }
}

/** Options of `defineConfig`. */
export interface DefineConfigOptions {
  /**
   * Variables starting with this prefix that no entry defines are rejected as typos.
   * Default `'CIVIC_'`; `false` turns the check off.
   */
  readonly unknownPrefix?: string | false
  /**
   * Prefixed variables read by other services of the product: ignored here, not refused, so one
   * environment can serve every service. Default `PRODUCT_VARIABLES`.
   */
  readonly knownElsewhere?: ReadonlySet<string>
}

/** A config specification: parse an environment, or describe the variables it reads. */
export interface ConfigSpec<E extends ConfigEntries> {
  /** The entries, so specs can be combined: `defineConfig({ ...a.entries, ...b.entries })`. */
  readonly entries: E
  /** Parses an environment (usually `process.env`) into a typed config or throws `ConfigError`. */
  parse(env: Readonly<Record<string, string | undefined>>): ConfigOf<E>
  /** One row per variable: name, documentation, default. */
  describe(): ConfigRow[]
}

/**
 * Defines a configuration from entries such as
 * `{ port: { env: 'CIVIC_HTTP_PORT', schema: z.coerce.number().int().default(3000), doc: 'HTTP port' } }`.
 * An empty string counts as unset (so `PORT=` falls back to the default).
 */
export function defineConfig<E extends ConfigEntries>(entries: E, options: DefineConfigOptions = {}): ConfigSpec<E> {
  const prefix = options.unknownPrefix ?? 'CIVIC_'
  const knownElsewhere = options.knownElsewhere ?? PRODUCT_VARIABLES
  const keys = Object.keys(entries) as Array<keyof E & string>
  const envNames = new Map<string, string>()
  for (const key of keys) {
    const entry = entries[key] as ConfigEntry
    const clash = envNames.get(entry.env)
    // A programming error, not an operator's: fail at definition time.
    if (clash !== undefined) throw new Error(`defineConfig: keys "${clash}" and "${key}" both read ${entry.env}`)
    envNames.set(entry.env, key)
  }
  const knownPrefixed = prefix === false ? [] : [...envNames.keys()].filter((n) => n.startsWith(prefix)).sort()

  return {
    entries,
    parse(env) {
      const problems: ConfigProblem[] = []
      const out: Record<string, unknown> = {}
      for (const key of keys) {
        const entry = entries[key] as ConfigEntry
        const raw = env[entry.env]
        const input = raw === '' ? undefined : raw
        const result = entry.schema.safeParse(input)
        if (result.success) {
          out[key] = result.data
        } else {
          const shown = input === undefined ? undefined : entry.secret === true ? '***' : input
          const message = result.error.issues.map((i) => describeIssue(i, input)).join('; ')
          problems.push({ env: entry.env, value: shown, message: `${message} — ${entry.doc}` })
        }
      }
      if (prefix !== false) {
        for (const name of Object.keys(env).sort()) {
          if (!name.startsWith(prefix) || envNames.has(name) || knownElsewhere.has(name) || env[name] === undefined) continue
          const guess = closest(name, knownPrefixed)
          problems.push({
            env: name,
            value: '…',
            message: `unknown variable${guess === undefined ? '' : ` (did you mean ${guess}?)`} — not read by this service; remove it or fix its name`,
          })
        }
      }
      if (problems.length > 0) throw new ConfigError(problems, knownPrefixed, prefix)
      return out as ConfigOf<E>
    },
    describe() {
      return keys.map((key) => {
        const entry = entries[key] as ConfigEntry
        const fallback = entry.schema.safeParse(undefined)
        const required = !fallback.success
        return {
          env: entry.env,
          doc: entry.doc,
          default: required || fallback.data === undefined ? undefined : entry.secret === true ? '***' : envText(fallback.data),
          required,
        }
      })
    },
  }
}

function describeIssue(issue: z.core.$ZodIssue, input: string | undefined): string {
  if (input === undefined && issue.code === 'invalid_type') return 'required but not set'
  const at = issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `
  return `${at}${issue.message}`
}

/** Renders a default as it would be written in the environment. */
function envText(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) return value.join(',')
  return JSON.stringify(value)
}

/** The known name closest to a typo, if it is close enough to be a plausible typo. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const d = levenshtein(name, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** A boolean variable: `true`/`false`/`1`/`0` (case-insensitive); anything else is an error. */
export function envBoolean() {
  return z.stringbool({ truthy: ['true', '1'], falsy: ['false', '0'], error: 'must be true, false, 1 or 0' })
}

/**
 * A comma-separated list, items trimmed and empty items dropped, each parsed by `item`
 * (default: non-empty string): `envList(z.enum(['a', 'b']))`.
 */
export function envList<I extends z.ZodType = z.ZodString>(item?: I) {
  const itemSchema = (item ?? z.string().min(1)) as I
  return z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((x) => x.trim())
            .filter((x) => x !== '')
        : value,
    z.array(itemSchema),
  )
}

/** A JSON document in a variable, validated by `schema`: `envJson(z.strictObject({ ... }))`. */
export function envJson<S extends z.ZodType>(schema: S) {
  return z
    .string()
    .transform((s, ctx): unknown => {
      try {
        return JSON.parse(s) as unknown
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `not valid JSON (${error instanceof Error ? error.message : String(error)})` })
        return z.NEVER
      }
    })
    .pipe(schema)
}

/**
 * For a composition root: parses the environment, or ends the process (exit 1) with the
 * message that lists every bad variable and how to fix it.
 */
export function parseConfigOrExit<E extends ConfigEntries>(spec: ConfigSpec<E>, env: Readonly<Record<string, string | undefined>>, service: string): ConfigOf<E> {
  try {
    return spec.parse(env)
  } catch (error) {
    process.stderr.write(`${service} cannot start: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
}

/**
 * For a composition root: a resource it cannot open at start (the event store server, a file)
 * ends the process (exit 1) with one line that says what failed, so a supervisor shows it.
 */
export function exitAtStart(service: string, what: string, error: unknown): never {
  process.stderr.write(`${service} cannot start: ${what}: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}

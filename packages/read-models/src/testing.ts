/** @civic-desk/read-models/testing: test support, never imported by production code. */
import { Redis } from 'ioredis'
import { redisAnswers } from './redis.ts'

const REDIS_TEST_HINT = 'set REDIS_URL=redis://127.0.0.1:6379 (a Redis server; the tests use their own key prefixes and delete them) to run them'

/** The structural part of a tap Test the gate uses (no dependency on tap here). */
export interface TestGate {
  fail(message: string): unknown
  test(name: string, options: { skip: string }, fn: () => Promise<void>): unknown
}

/**
 * The REDIS_URL gate of the Redis tests, like messaging's kafkaTestBrokers: unset → skipped with
 * a hint, unless CIVIC_REQUIRE_REDIS=1 makes that (and an unreachable Redis) a failure.
 */
export async function redisTestUrl(t: TestGate, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const url = env.REDIS_URL?.trim() ?? ''
  if (url === '') {
    if (env.CIVIC_REQUIRE_REDIS === '1') t.fail(`CIVIC_REQUIRE_REDIS=1 but REDIS_URL is not set: ${REDIS_TEST_HINT}`)
    else await t.test(`Redis tests: ${REDIS_TEST_HINT}`, { skip: REDIS_TEST_HINT }, async () => undefined)
    return undefined
  }
  const problem = await redisAnswers(url)
  if (problem !== null) {
    t.fail(`REDIS_URL=${url} is set but Redis does not answer (${problem}): start one (redis-server) or unset REDIS_URL`)
    return undefined
  }
  return url
}

/** One Redis key under a prefix with every value it holds, as bytes (strings, hash fields and values, members, stream entries). */
export interface RedisKeyDump {
  readonly key: Buffer
  readonly type: string
  readonly values: readonly Buffer[]
}

/**
 * Every key under `<prefix>` and everything it holds, read type by type (no DUMP: its RDB encoding
 * may compress a string and hide what a test looks for). For tests that search Redis for data
 * that must not be there.
 */
export async function dumpRedisPrefix(url: string, prefix: string): Promise<RedisKeyDump[]> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  redis.on('error', () => undefined)
  const out: RedisKeyDump[] = []
  try {
    await redis.connect()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scanBuffer(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next.toString()
      for (const key of keys) {
        const type = await redis.type(key)
        let values: Buffer[]
        if (type === 'string') values = [(await redis.getBuffer(key)) ?? Buffer.alloc(0)]
        else if (type === 'hash') values = await redis.hgetallBuffer(key).then((h) => Object.entries(h).flatMap(([k, v]) => [Buffer.from(k), v]))
        else if (type === 'zset') values = await redis.zrangeBuffer(key, 0, -1, 'WITHSCORES')
        else if (type === 'list') values = await redis.lrangeBuffer(key, 0, -1)
        else if (type === 'set') values = await redis.smembersBuffer(key)
        else if (type === 'stream') values = (await redis.xrangeBuffer(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields])
        else values = []
        out.push({ key, type, values })
      }
    } while (cursor !== '0')
    return out
  } finally {
    redis.disconnect()
  }
}

/** @civic-desk/read-models/testing: test support, never imported by production code. */
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

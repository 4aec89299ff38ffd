import { randomUUID } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { readModelStoreContract } from './contract.ts'
import { deleteRedisPrefix, openRedisReadModelStore } from './redis.ts'
import { ReadModelStoreError } from './store.ts'
import { redisTestUrl } from './testing.ts'

const url = await redisTestUrl(t)
if (url !== undefined) {
  /** Keys under a prefix, counted with SCAN (never KEYS). */
  const countKeys = async (pattern: string): Promise<number> => {
    const redis = new Redis(url, { lazyConnect: true })
    await redis.connect()
    let n = 0
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      n += keys.length
    } while (cursor !== '0')
    redis.disconnect()
    return n
  }

  readModelStoreContract(t, 'redis', async () => {
    // A prefix of its own per test: tests run in parallel on one Redis and must not see each other.
    const prefix = `civic-test:${randomUUID()}:`
    const store = await openRedisReadModelStore({ url, prefix })
    return {
      store,
      keysOfVersion: (version) => countKeys(`${prefix}rm:v${version}:*`),
      close: async () => {
        await store.close()
        await deleteRedisPrefix(url, prefix)
        t.equal(await countKeys(`${prefix}*`), 0, 'teardown left no key behind')
      },
    }
  })

  t.test('redis: a cached writer serves its own writes; read-back is validated', async (t) => {
    const prefix = `civic-test:${randomUUID()}:`
    const store = await openRedisReadModelStore({ url, prefix, cacheCases: 10 })
    t.teardown(async () => {
      await store.close()
      await deleteRedisPrefix(url, prefix)
    })
    const writer = await store.createVersion('store-1')
    await store.activate(writer.version)
    const redis = new Redis(url)
    t.teardown(() => redis.disconnect())
    await redis.set(`${prefix}rm:v${writer.version}:case:broken`, JSON.stringify({ caseId: 'broken', status: 'lost' }))
    const reader = (await store.reader())!
    await t.rejects(reader.getCase('broken'), { name: 'ZodError' }, 'a malformed document is refused, not passed on')
  })

  t.test('redis: an unreachable server is our error, not ioredis’s', async (t) => {
    await t.rejects(openRedisReadModelStore({ url: 'redis://127.0.0.1:1', prefix: 'x:' }), ReadModelStoreError)
  })
}

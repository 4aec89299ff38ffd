// Opens the read-model store a configuration asks for: Redis when REDIS_URL is set, else memory.
import { createMemoryReadModelStore, openRedisReadModelStore, type ReadModelStore } from '@civic-desk/read-models'

export interface ReadModelSettings {
  readonly redisUrl?: string | undefined
  readonly redisPrefix: string
}

/** The configured store and a description for the start-up log (the URL without credentials). */
export async function openReadModels(settings: ReadModelSettings, options: { readonly cacheCases?: number; readonly connectionName?: string } = {}): Promise<{ readModels: ReadModelStore; target: string }> {
  if (settings.redisUrl === undefined) return { readModels: createMemoryReadModelStore(), target: 'memory' }
  const url = new URL(settings.redisUrl)
  const shown = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname} prefix ${settings.redisPrefix}`
  const readModels = await openRedisReadModelStore({
    url: settings.redisUrl,
    prefix: settings.redisPrefix,
    ...(options.cacheCases === undefined ? {} : { cacheCases: options.cacheCases }),
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
  })
  return { readModels, target: `redis ${shown}` }
}

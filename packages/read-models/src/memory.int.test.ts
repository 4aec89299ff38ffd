import t from 'tap'
import { readModelStoreContract } from './contract.ts'
import { createMemoryReadModelStore } from './memory.ts'

readModelStoreContract(t, 'memory', async () => {
  const store = createMemoryReadModelStore()
  return { store, close: () => store.close() }
})

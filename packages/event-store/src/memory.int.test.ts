import t from 'tap'
import { createMemoryEventStore, eventStoreContract } from './index.ts'

eventStoreContract(t, async () => {
  const store = createMemoryEventStore()
  return { store, cleanup: () => store.close() }
})

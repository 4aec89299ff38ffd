import t from 'tap'
import { createMemoryBus } from './index.ts'
import { busContract } from './testing.ts'

busContract(t, async () => {
  const bus = createMemoryBus()
  return { bus, publishRaw: (topic, messages) => bus.publishRaw(topic, messages), cleanup: () => bus.close() }
})

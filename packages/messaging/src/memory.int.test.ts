import t from 'tap'
import { busContract, createMemoryBus } from './index.ts'

busContract(t, async () => {
  const bus = createMemoryBus()
  return { bus, publishRaw: (topic, messages) => bus.publishRaw(topic, messages), cleanup: () => bus.close() }
})

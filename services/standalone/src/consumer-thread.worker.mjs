// The consumer thread's first module. A worker thread does not inherit the TypeScript loader of the
// thread that starts it (Node 20: neither the tsx CLI's hooks nor `--import tsx` in execArgv reach
// its entry), so it registers tsx itself before loading its TypeScript entry.
import { register } from 'tsx/esm/api'

register()
await import('./consumer-thread.worker.ts')

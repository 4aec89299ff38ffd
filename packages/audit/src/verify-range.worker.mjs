// A verifier thread's first module: a worker thread does not inherit the TypeScript loader of the
// thread that starts it, so it registers tsx itself before loading its TypeScript entry.
import { register } from 'tsx/esm/api'

register()
await import('./verify-range.worker.ts')

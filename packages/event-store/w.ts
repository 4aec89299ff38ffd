import { parentPort } from 'node:worker_threads'
import { helper } from './helper.ts'
const x: number = helper()
parentPort!.postMessage(x)

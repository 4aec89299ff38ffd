import { Worker } from 'node:worker_threads'
console.log('execArgv', JSON.stringify(process.execArgv))
for (const variant of ['wrapper', 'eval-register'] as const) {
  const w = variant === 'wrapper'
    ? new Worker(new URL('./w-entry.mjs', import.meta.url))
    : new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(new URL('./w.ts', import.meta.url).href)}) })`, { eval: true })
  await new Promise<void>((resolve) => {
    w.on('message', (m) => { console.log(variant, 'msg', m); void w.terminate().then(() => resolve()) })
    w.on('error', (e) => { console.log(variant, 'error', e.message); resolve() })
  })
}

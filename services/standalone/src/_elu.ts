import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
const h = monitorEventLoopDelay({ resolution: 5 }); h.enable()
let last = performance.eventLoopUtilization()
setInterval(() => { const now = performance.eventLoopUtilization(); const d = performance.eventLoopUtilization(now, last); last = now; process.stderr.write(`ELU ${d.utilization.toFixed(2)} delay p99 ${(h.percentile(99)/1e6).toFixed(1)} max ${(h.max/1e6).toFixed(1)}\n`); h.reset() }, 1000).unref()
await import('./main.ts')

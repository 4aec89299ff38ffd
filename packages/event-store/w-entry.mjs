await import('./w.ts')

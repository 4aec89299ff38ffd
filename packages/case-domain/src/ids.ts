import { uuidV5 } from './tracking-code.ts'

/** Namespace of derived event ids (a fixed, random UUID). */
const DERIVED_NAMESPACE = Buffer.from('9f4c2d1a6b3e4c8a8d7f0e5b2a19c643', 'hex')

/**
 * An event id derived from what caused it: the same cause handled again (a redelivered message,
 * a second replica, a restart) yields the same id, and the store skips an id it already holds.
 * `what` names the handler and, where one cause has several effects, which one.
 */
export function deriveEventId(causeId: string, what: string): string {
  return uuidV5(DERIVED_NAMESPACE, `${causeId}\n${what}`)
}

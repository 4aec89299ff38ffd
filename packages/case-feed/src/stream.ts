/**
 * Case streams: every case is the stream `case-<caseId>` of the event store. The prefix is
 * declared here and nowhere else.
 */

/** Prefix of every case stream id. */
export const CASE_STREAM_PREFIX = 'case-'

/** The stream of a case. */
export function caseStreamId(caseId: string): string {
  return `${CASE_STREAM_PREFIX}${caseId}`
}

/** True for the stream of a case. */
export function isCaseStream(streamId: string): boolean {
  return streamId.startsWith(CASE_STREAM_PREFIX)
}

/** The case of a case stream (`case-42` → `42`); null for any other stream. */
export function caseIdOfStream(streamId: string): string | null {
  return isCaseStream(streamId) ? streamId.slice(CASE_STREAM_PREFIX.length) : null
}

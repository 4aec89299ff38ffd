import { isDeepStrictEqual } from 'node:util'
import type { Actor, CaseEvent, CaseStatus, CaseSubmittedV1, PublicCaseView, PublicTimelineEntry } from '@civic-desk/contracts'
import { STATUS_TEXT } from './status-machine.ts'

/** Time, ids and who is acting come from outside: the decider has no clock and no randomness. */
export interface CommandMeta {
  readonly eventId: string
  readonly occurredAt: string
  readonly actor: Actor
  readonly correlationId: string
  readonly causationId: string | null
}

export type SubmitCase = {
  readonly type: 'SubmitCase'
  readonly meta: CommandMeta
  readonly data: CaseSubmittedV1['data']
}

/** Every command a case accepts. Later lifecycle steps join this union. */
export type CaseCommand = SubmitCase

export type Submission = CaseSubmittedV1['data']

export type OpenCase = {
  readonly status: CaseStatus
  readonly caseId: string
  readonly trackingCode: string
  readonly submission: Submission
  readonly department: string | null
  /** When the citizen applied: the channel's time if it gave one, else when we received it. */
  readonly submittedAt: string
  readonly updatedAt: string
  readonly expectedBy: string | null
  readonly timeline: readonly PublicTimelineEntry[]
}

export type CaseState = { readonly status: 'none' } | OpenCase

export function initialState(): CaseState {
  return { status: 'none' }
}

/** Why a command cannot be carried out; the HTTP layer maps `code` to a problem response. */
export class CaseRuleViolation extends Error {
  override readonly name = 'CaseRuleViolation'
  constructor(
    readonly code: 'already_submitted' | 'tracking_code_taken',
    message: string,
  ) {
    super(message)
  }
}

/** The parts of a submission that identify what the citizen asked, i.e. everything but our own bookkeeping. */
function requestPart(s: Submission): unknown {
  const { caseId: _caseId, trackingCode: _code, receivedAt: _receivedAt, ...rest } = s
  // Through JSON so that an absent key and a key holding undefined compare equal.
  return JSON.parse(JSON.stringify(rest))
}

export function decide(command: CaseCommand, state: CaseState): CaseEvent[] {
  switch (command.type) {
    case 'SubmitCase': {
      if (state.status !== 'none') {
        const before = state.submission
        const now = command.data
        const sameKey = before.externalId !== undefined && before.channel === now.channel && before.externalId === now.externalId
        if (!sameKey) {
          throw new CaseRuleViolation('tracking_code_taken', `tracking code ${state.trackingCode} already belongs to another case`)
        }
        if (isDeepStrictEqual(requestPart(before), requestPart(now))) return [] // a retry: already done
        throw new CaseRuleViolation(
          'already_submitted',
          `a different request was already submitted as ${now.channel}/${now.externalId}`,
        )
      }
      return [{ ...command.meta, type: 'CaseSubmitted', schemaVersion: 1, data: command.data }]
    }
    default: {
      const unknownCommand: never = command.type
      throw new Error(`unknown command ${String(unknownCommand)}`)
    }
  }
}

export function evolve(state: CaseState, event: CaseEvent): CaseState {
  switch (event.type) {
    case 'CaseSubmitted': {
      const d = event.data
      return {
        status: 'submitted',
        caseId: d.caseId,
        trackingCode: d.trackingCode,
        submission: d,
        department: null,
        submittedAt: d.submittedAt ?? d.receivedAt,
        updatedAt: event.occurredAt,
        expectedBy: null,
        timeline: [{ at: event.occurredAt, step: 'submitted', textTr: STATUS_TEXT.submitted.tr, textEn: STATUS_TEXT.submitted.en }],
      }
    }
    default: {
      const unknownEvent: never = event.type
      return unknownEvent
    }
  }
}

/** Folds a stream's events into the case state. */
export function replay(events: readonly CaseEvent[]): CaseState {
  return events.reduce(evolve, initialState())
}

export interface NamedCode {
  readonly code: string
  readonly nameTr: string
  readonly nameEn: string
}

/** Name look-ups the public view needs (from the catalogue); unknown codes are shown by code. */
export interface CatalogueNames {
  category(code: string): NamedCode | undefined
  department(code: string): NamedCode | undefined
}

/** What the holder of a tracking code may see: status, what and where it is, never who applied. */
export function toPublicView(state: OpenCase, names: CatalogueNames): PublicCaseView {
  const category = state.submission.category
  const named = (code: string, found: NamedCode | undefined): NamedCode => found ?? { code, nameTr: code, nameEn: code }
  return {
    trackingCode: state.trackingCode,
    status: state.status,
    statusTextTr: STATUS_TEXT[state.status].tr,
    kind: state.submission.kind,
    category: category === undefined ? null : pick(named(category, names.category(category))),
    department: state.department === null ? null : pick(named(state.department, names.department(state.department))),
    submittedAt: state.submittedAt,
    updatedAt: state.updatedAt,
    expectedBy: state.expectedBy,
    timeline: [...state.timeline],
  }
}

function pick(n: NamedCode): NamedCode {
  return { code: n.code, nameTr: n.nameTr, nameEn: n.nameEn }
}

import type { CaseEventType } from './events.ts'
import type { CaseStatus } from './status.ts'

/**
 * What a case's status depends on: the status itself, and where a citizen's reply returns the case
 * to (a question can be asked of a case nobody has accepted yet; the reply must not accept it).
 */
export interface CaseLifecycle {
  readonly status: CaseStatus
  /** The status the case had when the open question was asked; null when no question is open. */
  readonly statusBeforeWait: CaseStatus | null
}

/** The lifecycle of a case that was just submitted. */
export const SUBMITTED_LIFECYCLE: CaseLifecycle = { status: 'submitted', statusBeforeWait: null }

const to = (status: CaseStatus, statusBeforeWait: CaseStatus | null): CaseLifecycle => ({ status, statusBeforeWait })

/**
 * The status a case has after an event: the one rule the case decider's `evolve` and every read
 * model (the dashboards' counters, queues) take statuses from, so they cannot disagree. It reads the
 * event's type only, so a projection that skips the data of most events can still use it.
 * Returns `lifecycle` itself when the event leaves the status alone. Whether the event was allowed
 * is the decider's business (`STATUS_TRANSITIONS` in case-domain), not this function's.
 */
export function lifecycleAfter<L extends CaseLifecycle>(lifecycle: L, type: CaseEventType): L | CaseLifecycle {
  switch (type) {
    case 'CaseRouted':
    case 'CaseMarkedDuplicate':
    case 'CaseTransferred':
    case 'CaseReopened':
      return to('routed', lifecycle.statusBeforeWait)
    case 'CaseAccepted':
      return to('in_progress', lifecycle.statusBeforeWait)
    case 'CitizenInfoRequested':
      return to('waiting_for_citizen', lifecycle.status)
    case 'CitizenReplied':
      // Back to where the question found the case: a case never accepted is still to be accepted.
      return to(lifecycle.statusBeforeWait === 'routed' ? 'routed' : 'in_progress', null)
    case 'CaseResolved':
      return to('resolved', null)
    case 'CaseRejected':
      return to('rejected', null)
    case 'CaseClosed':
      return to('closed', null)
    // A repeated CaseSubmitted changes nothing (the first one made the case: SUBMITTED_LIFECYCLE).
    case 'CaseSubmitted':
    // Only recorded while in progress: the case stays there.
    case 'CaseWorkStarted':
    case 'CaseNoteAdded':
    // Its own case now, where it was in its directorate (routed or in progress).
    case 'CaseDuplicateUnlinked':
    case 'WorkflowStepRecorded':
    case 'SlaWarningRaised':
    case 'SlaBreached':
    case 'CaseEscalated':
    case 'CitizenNotified':
    case 'NotificationFailed':
    // Erasing the personal data changes nothing of the case's course.
    case 'PersonalDataErased':
      return lifecycle
    default: {
      const unknownType: never = type
      return unknownType
    }
  }
}

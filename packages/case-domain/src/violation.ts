/** The codes of `CaseRuleViolation`: what kind of rule a command broke. */
export type CaseRuleCode =
  | 'already_submitted'
  | 'tracking_code_taken'
  | 'case_not_found'
  | 'illegal_step'
  | 'invalid_step_fields'
  | 'same_department'
  | 'reopen_limit_reached'
  | 'not_a_duplicate'
  /** The case holds as many notes as its limit allows (see limits.ts). */
  | 'note_limit_reached'
  /** Staff's text would take the case past its size limit (see limits.ts). */
  | 'case_too_large'

/** Why a command cannot be carried out; the HTTP layer maps `code` to a problem response. */
export class CaseRuleViolation extends Error {
  override readonly name = 'CaseRuleViolation'
  constructor(
    readonly code: CaseRuleCode,
    message: string,
    /** Per-field problems for `invalid_step_fields`. */
    readonly fieldErrors: readonly { readonly field: string; readonly message: string }[] = [],
  ) {
    super(message)
  }
}

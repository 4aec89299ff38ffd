/**
 * The checks every intake path applies to a citizen request, whichever way it arrived
 * (`POST /v1/requests` or the `civic.intake.v1` topic), so both accept and refuse the same
 * requests with the same words.
 */
import type { z } from 'zod'
import { categoryByCode, checkAnswers, type Actor, type Catalogue, type SubmissionBody, type SubmissionReceipt } from '@civic-desk/contracts'
import { ConflictError, ValidationError, parseWith } from '@civic-desk/service-kit'

/** What the checks beyond the schema need: the catalogue (categories) and the clock (submittedAt). */
export interface SubmissionRules {
  readonly catalogue: Catalogue
  readonly now: () => Date
}

/** How far a channel's clock may run ahead of ours before its submittedAt counts as a mistake. */
export const CLOCK_SKEW_MS = 5 * 60_000

/**
 * Parses a submission with `schema` (`SubmissionBody`, or a stricter variant of it), then checks
 * the category against the catalogue and that submittedAt does not lie in the future.
 * @throws ValidationError naming the bad fields (the first failing check's).
 */
export function validateSubmission<B extends SubmissionBody>(rules: SubmissionRules, value: unknown, schema: z.ZodType<B>): B {
  return checkSubmission(rules, parseWith(schema, value, 'body'))
}

/**
 * The checks beyond the schema, for a body the schema has already parsed (as a route's `schema.body`
 * does): the category against the catalogue, and that submittedAt does not lie in the future.
 * @throws ValidationError naming the bad field.
 */
export function checkSubmission<B extends SubmissionBody>(rules: SubmissionRules, body: B): B {
  if (body.category !== undefined && categoryByCode(rules.catalogue, body.category) === undefined) {
    throw new ValidationError(`Unknown category '${body.category}'.`, [
      { field: 'category', message: `not in the catalogue; known categories: ${rules.catalogue.categories.map((c) => c.code).join(', ')}` },
    ])
  }
  // The category's questions: asked and checked the same way whichever path a request came by.
  const questions = body.category === undefined ? [] : (categoryByCode(rules.catalogue, body.category)?.questions ?? [])
  const answerProblems = checkAnswers(questions, body.answers)
  if (answerProblems.length > 0) {
    throw new ValidationError(
      body.category === undefined ? 'answers need a category: only a category asks questions.' : `The answers do not fit the questions of category '${body.category}'.`,
      answerProblems.map((p) => ({ field: `answers.${p.code}`, message: p.message })),
    )
  }
  // A channel's clock may run a little fast; a time further ahead is a mistake, not an application.
  if (body.submittedAt !== undefined && Date.parse(body.submittedAt) > rules.now().getTime() + CLOCK_SKEW_MS) {
    throw new ValidationError('submittedAt lies in the future.', [{ field: 'submittedAt', message: 'must not be later than now (5 minutes of clock difference are tolerated)' }])
  }
  return body
}

/** The error for a (channel, externalId) already used by a different request. */
export function submissionConflict(body: Pick<SubmissionBody, 'channel' | 'externalId'>, receipt: SubmissionReceipt): ConflictError {
  return new ConflictError(
    `A different request was already submitted through ${body.channel} with externalId '${body.externalId ?? ''}' (tracking code ${receipt.trackingCode}). Use a new externalId for a new request.`,
  )
}

/** Who a CaseSubmitted is by: the channel adapter that handed the request in. */
export function channelActor(id: string): Actor {
  return { kind: 'channel', id }
}

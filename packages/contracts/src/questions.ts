/**
 * Answers to a category's questions (see `QuestionSchema` in the catalogue): their shape on the
 * wire and in `CaseSubmitted`, and the one check every intake path applies to them.
 */
import { z } from 'zod'
import { isInstantWithOffset } from './fields.ts'
import type { Question } from './catalogue.ts'

/** Longest answer to a `string` question, and to a `text` one. */
export const MAX_STRING_ANSWER = 200
export const MAX_TEXT_ANSWER = 2000

/** One answer: text (string, text, datetime, singlevaluelist), a number, or the keys of a multivaluelist. */
export const AnswerValue = z.union([z.string().max(MAX_TEXT_ANSWER), z.number().finite(), z.array(z.string().max(200)).max(50)])
export type AnswerValue = z.infer<typeof AnswerValue>

/** The answers of a request, by question code, as a channel hands them in. */
export const Answers = z.record(z.string().min(1).max(80), AnswerValue)
export type Answers = z.infer<typeof Answers>

/** What is wrong with one answer: the question's code and why, in English (the v1 API) and Turkish (citizen-facing channels). */
export interface AnswerProblem {
  readonly code: string
  readonly message: string
  readonly messageTr: string
}

const visible = (text: string): boolean => /[\p{L}\p{N}\p{P}\p{S}]/u.test(text)

function problemOf(question: Question, value: AnswerValue): Omit<AnswerProblem, 'code'> | null {
  switch (question.datatype) {
    case 'string':
    case 'text': {
      const max = question.datatype === 'string' ? MAX_STRING_ANSWER : MAX_TEXT_ANSWER
      if (typeof value !== 'string') return { message: 'must be text', messageTr: 'metin olmalı' }
      if (!visible(value)) return { message: 'must not be empty', messageTr: 'boş olmamalı' }
      return value.length > max ? { message: `at most ${max} characters`, messageTr: `en fazla ${max} karakter olmalı` } : null
    }
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : { message: 'must be a number', messageTr: 'sayı olmalı (ör. 12 veya 3.5)' }
    case 'datetime':
      return typeof value === 'string' && isInstantWithOffset(value)
        ? null
        : { message: 'must be an ISO 8601 date-time with an offset, e.g. 2026-11-20T14:30:00+03:00', messageTr: 'saat dilimli ISO 8601 tarih-saat olmalı, ör. 2026-11-20T14:30:00+03:00' }
    case 'singlevaluelist': {
      const keys = (question.values ?? []).map((v) => v.key)
      return typeof value === 'string' && keys.includes(value)
        ? null
        : { message: `must be one of: ${keys.join(', ')}`, messageTr: `şunlardan biri olmalı: ${keys.join(', ')}` }
    }
    case 'multivaluelist': {
      const keys = (question.values ?? []).map((v) => v.key)
      if (!Array.isArray(value) || value.length === 0) return { message: `must be a list of one or more of: ${keys.join(', ')}`, messageTr: `şunlardan bir veya birkaçı olmalı: ${keys.join(', ')}` }
      const unknown = value.filter((v) => !keys.includes(v))
      if (unknown.length > 0) return { message: `unknown value(s) ${unknown.join(', ')}; known: ${keys.join(', ')}`, messageTr: `bilinmeyen değer: ${unknown.join(', ')}; geçerli değerler: ${keys.join(', ')}` }
      return new Set(value).size === value.length ? null : { message: 'lists a value twice', messageTr: 'bir değer iki kez verilmiş' }
    }
    default: {
      const unknownDatatype: never = question.datatype
      return unknownDatatype
    }
  }
}

/**
 * Checks answers against a category's questions: no unknown code, each answer of its question's
 * datatype, every required question answered. Returns every problem (none: the answers are fine).
 * A category without questions accepts no answers.
 */
export function checkAnswers(questions: readonly Question[], answers: Answers | undefined): AnswerProblem[] {
  const problems: AnswerProblem[] = []
  const given = answers ?? {}
  const byCode = new Map(questions.map((q) => [q.code, q]))
  for (const [code, value] of Object.entries(given)) {
    const question = byCode.get(code)
    if (question === undefined) {
      const known = questions.map((q) => q.code).join(', ') || 'none'
      problems.push({ code, message: `not a question of this category (its questions: ${known})`, messageTr: `bu hizmetin böyle bir sorusu yok (soruları: ${known === 'none' ? 'yok' : known})` })
      continue
    }
    const problem = problemOf(question, value)
    if (problem !== null) problems.push({ code, ...problem })
  }
  for (const q of questions) {
    if (q.required && !Object.hasOwn(given, q.code)) problems.push({ code: q.code, message: `required: ${q.questionTr}`, messageTr: `zorunlu soru yanıtlanmadı: ${q.questionTr}` })
  }
  return problems
}

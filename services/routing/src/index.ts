/** @civic-desk/routing — sends each new case to the responsible directorate. */
export { createClassifier, foldTurkish, words } from './classify.ts'
export type { CategoryMatch, Classifier } from './classify.ts'

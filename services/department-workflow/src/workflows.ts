/**
 * Loading the directorates' workflow definitions (`infra/workflows/workflows.json`). The schema
 * and its cross-checks against the catalogue live in `@civic-desk/contracts`; this adds the file,
 * and names it in every error, so a broken definition stops the service at start with every
 * problem listed rather than failing in the middle of a citizen's case.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { WorkflowConfigError, validateWorkflows, type Catalogue, type WorkflowFile } from '@civic-desk/contracts'

/** Absolute path of the default workflow file, `infra/workflows/workflows.json` in the repository. */
export const defaultWorkflowFile: string = fileURLToPath(new URL('../../../infra/workflows/workflows.json', import.meta.url))

/** Reads and validates a workflow file against the catalogue; throws `WorkflowConfigError` (or an `Error` naming the file). */
export function loadWorkflows(file: string, catalogue: Catalogue): WorkflowFile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(`Cannot read the workflow file ${file}: ${code ?? String(error)}`, { cause: error })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new WorkflowConfigError(file, [{ path: '(root)', message: `not valid JSON (${error instanceof Error ? error.message : String(error)})` }])
  }
  return validateWorkflows(raw, catalogue, file)
}

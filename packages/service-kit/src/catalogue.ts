/**
 * Loading the service catalogue from disk. The schema and its cross-reference checks live in
 * `@civic-desk/contracts`; this adds the file, and names it in every error.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CatalogueError, validateCatalogue, type Catalogue } from '@civic-desk/contracts'

/** Absolute path of the default catalogue, `infra/catalogue/catalogue.json` in the repository. */
export const defaultCatalogueFile: string = fileURLToPath(new URL('../../../infra/catalogue/catalogue.json', import.meta.url))

/** Reads and validates a catalogue file; throws `CatalogueError` (or an `Error` naming the file) otherwise. */
export function loadCatalogue(file: string): Catalogue {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(`Cannot read the service catalogue ${file}: ${code ?? String(error)}`, { cause: error })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new CatalogueError([{ path: '', message: `not valid JSON (${error instanceof Error ? error.message : String(error)})` }], file)
  }
  return validateCatalogue(raw, file)
}

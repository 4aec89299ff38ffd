// `pnpm openapi`: writes standalone's API description (every route of the product) to
// docs/openapi.json, so it can be read without starting anything. Deterministic: sorted keys, a
// final newline; a test fails when the committed file is not what this writes.
import { writeFileSync } from 'node:fs'
import { DOCUMENT_FILE, standaloneDocument } from './openapi-app.ts'

const text = await standaloneDocument()
writeFileSync(DOCUMENT_FILE, text)
process.stdout.write(`wrote ${DOCUMENT_FILE} (${Object.keys((JSON.parse(text) as { paths: object }).paths).length} paths)\n`)

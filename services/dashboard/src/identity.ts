// Which event store the read models were built from. Redis outlives a wiped data folder (tests
// and developers delete data/ while Redis keeps its keys): read models of a store that no longer
// exists must be rebuilt, not continued. A random id kept beside the store tells them apart.
import { randomUUID } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'

export const STORE_IDENTITY_FILE = 'store-identity'
const Identity = z.uuid()

/** The identity of the event store in `dataDir`, created (atomically: first writer wins) when missing. */
export function loadOrCreateStoreIdentity(dataDir: string): string {
  const file = join(dataDir, STORE_IDENTITY_FILE)
  mkdirSync(dataDir, { recursive: true })
  // Written whole under another name, then linked into place: link fails when the file exists,
  // so two processes starting together agree on the first one's id and nobody reads half a file.
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`
  writeFileSync(temp, `${randomUUID()}\n`)
  try {
    linkSync(temp, file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  } finally {
    unlinkSync(temp)
  }
  const text = readFileSync(file, 'utf8').trim()
  const parsed = Identity.safeParse(text)
  if (!parsed.success) throw new Error(`${file} does not hold a store identity (a UUID); delete it to have the read models rebuilt`)
  return parsed.data
}

// Test support for the Open311 endpoint: an intake app over a real SQLite store with the request
// index following it, and XML read by a real parser into elements in document order.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import type { CaseCommand } from '@civic-desk/case-domain'
import { createLogTail, executeOnCase, startProjection } from '@civic-desk/case-feed'
import { caseIdOfStream } from '@civic-desk/case-feed'
import { openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { newMasterKeyText, openSqliteKeyStore, parseMasterKey, sealingEventStore } from '@civic-desk/privacy'
import { createAccessControl, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue, type AccessConfigInput } from '@civic-desk/service-kit'
import type { FastifyInstance } from 'fastify'
import { buildIntakeApp } from '../app.ts'
import { startOpen311Index, type Open311Index } from './request-index.ts'

export const catalogue = loadCatalogue(defaultCatalogueFile)
export const T0 = new Date('2026-11-20T09:15:00.000Z')

/** The development tokens plus an app key of the `mobile-app` channel and a channel token without a channel. */
export function testAccess(): AccessConfigInput {
  return {
    tokens: [
      ...devAccessConfig(catalogue.departments.map((d) => d.code)).tokens,
      { id: 'belediye-mobil', roles: ['channel'], channel: 'mobile-app', token: 'mobil-anahtar-1' },
      { id: 'eski-adaptor', roles: ['channel'], token: 'kanalsiz-anahtar' },
    ],
  }
}

export interface Open311Env {
  readonly app: FastifyInstance
  /** The store the services write through (sealing, when asked for). */
  readonly store: EventStore
  /** The log as stored (the same as `store` unless sealed). */
  readonly log: EventStore
  readonly index: Open311Index
  /** Moves the app's clock. */
  setNow(date: Date): void
  /** Runs a staff command on a case at `minutes` after T0. */
  act(caseId: string, minutes: number, command: (meta: CaseCommand['meta']) => CaseCommand): Promise<void>
  /** Waits until the index has seen everything stored. */
  settle(): Promise<void>
}

export const at = (minutes: number): string => new Date(T0.getTime() + minutes * 60_000).toISOString()

export async function open311Env(t: Test, options: { readonly jurisdiction?: string; readonly lookupsPerMinute?: number; readonly sealed?: boolean } = {}): Promise<Open311Env> {
  const dir = mkdtempSync(join(tmpdir(), 'civic-open311-'))
  const log = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const keys = options.sealed === true ? openSqliteKeyStore({ file: join(dir, 'keys.sqlite'), masterKey: parseMasterKey(newMasterKeyText()) }) : undefined
  // As the composition roots wire it: services write and read through the sealing store, the index follows the log as stored.
  const store = keys === undefined ? log : sealingEventStore(log, keys, { caseIdOf: caseIdOfStream })
  const logger = createLogger({ level: 'silent', name: 'open311-test' })
  const tail = createLogTail({ store: log, logger })
  const index = startOpen311Index((o) => startProjection({ ...o, tail, logger }))
  let now = T0
  const app = await buildIntakeApp({
    store,
    catalogue,
    access: createAccessControl(testAccess()),
    logger,
    trackingKey: Buffer.alloc(32, 5),
    now: () => now,
    lookupsPerMinute: options.lookupsPerMinute ?? 10_000,
    open311: { index, jurisdiction: options.jurisdiction },
  })
  t.teardown(async () => {
    await app.close()
    await index.close()
    await tail.close()
    await store.close()
    await keys?.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    app,
    store,
    log,
    index,
    setNow: (date) => (now = date),
    async act(caseId, minutes, command) {
      await executeOnCase(store, caseId, () => command({ eventId: randomUUID(), occurredAt: at(minutes), actor: { kind: 'staff', id: 'ayse.fen' }, correlationId: 'test', causationId: null }))
    },
    async settle() {
      await index.waitUntil(await log.headPosition())
    },
  }
}

/** One XML element: its name, its own text, and its child elements in document order. */
export interface XmlElement {
  readonly name: string
  readonly text: string
  readonly children: readonly XmlElement[]
}

const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, parseTagValue: false, trimValues: false })

type Ordered = Array<Record<string, unknown>>

function elementsOf(list: Ordered): XmlElement[] {
  const out: XmlElement[] = []
  for (const item of list) {
    const name = Object.keys(item).find((k) => k !== ':@')
    if (name === undefined || name === '#text' || name.startsWith('?')) continue
    const kids = (item[name] ?? []) as Ordered
    const text = kids.filter((k) => '#text' in k).map((k) => String(k['#text'])).join('')
    out.push({ name, text, children: elementsOf(kids) })
  }
  return out
}

/** Parses an XML document (after checking it is well-formed and declares UTF-8); returns its root element. */
export function parseXml(text: string): XmlElement {
  const valid = XMLValidator.validate(text)
  if (valid !== true) throw new Error(`not well-formed XML: ${JSON.stringify(valid.err)}`)
  if (!text.startsWith('<?xml version="1.0" encoding="UTF-8"?>')) throw new Error('no XML declaration with encoding="UTF-8"')
  const roots = elementsOf(parser.parse(text) as Ordered)
  if (roots.length !== 1) throw new Error(`expected one root element, found ${roots.length}`)
  return roots[0]!
}

/** The names of an element's children, in order. */
export const names = (e: XmlElement): string[] => e.children.map((c) => c.name)

/** The text of the only child called `name` (throws when there is none or several). */
export function textOf(e: XmlElement, name: string): string {
  const found = e.children.filter((c) => c.name === name)
  if (found.length !== 1) throw new Error(`<${e.name}> has ${found.length} <${name}>`)
  return found[0]!.text
}

export function childOf(e: XmlElement, name: string): XmlElement {
  const found = e.children.filter((c) => c.name === name)
  if (found.length !== 1) throw new Error(`<${e.name}> has ${found.length} <${name}>`)
  return found[0]!
}

/** An `application/x-www-form-urlencoded` body from pairs (repeated names allowed). */
export function form(pairs: ReadonlyArray<readonly [string, string]>): { payload: string; headers: Record<string, string> } {
  return { payload: new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, v])).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }
}

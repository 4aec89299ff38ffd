/**
 * The two wire formats of GeoReport v2: one document model (plain objects whose key order is the
 * element order) written as JSON or as XML. The XML side is a small escaping serializer rather than
 * a builder library: the documents are a handful of fixed, flat shapes, and a list of 1,000
 * requests must be written in a few milliseconds, which a string builder does and a DOM does not.
 */
import { CALENDAR_ZONE } from '@civic-desk/calendar'

/** A value of a document: text, a number, a boolean, null (an empty element), a list or a nested record. */
export type DocValue = string | number | boolean | null | readonly DocValue[] | DocRecord
export interface DocRecord {
  readonly [key: string]: DocValue | undefined
}

/** A document: its root element and its list items (`<services><service>…`), or one record (`<discovery>…`). */
export type Document = { readonly root: string; readonly item: string; readonly items: readonly DocRecord[] } | { readonly root: string; readonly record: DocRecord }

export type Format = 'xml' | 'json'

export const CONTENT_TYPES: Readonly<Record<Format, string>> = {
  xml: 'text/xml; charset=utf-8',
  json: 'application/json; charset=utf-8',
}

/** Element names of the items of the nested lists the spec uses. */
const ITEM_OF: Readonly<Record<string, string>> = {
  attributes: 'attribute',
  values: 'value',
  notes: 'note',
  formats: 'format',
  endpoints: 'endpoint',
}

// Characters XML 1.0 cannot carry at all (C0 controls but tab, LF, CR; lone surrogates; U+FFFE/F).
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
const SPECIAL = /[&<>"']/
const ENTITY: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

/** Text as XML character data: markup characters escaped, characters XML cannot carry dropped. */
export function escapeXml(text: string): string {
  const clean = text.replace(NOT_XML, '')
  return SPECIAL.test(clean) ? clean.replace(/[&<>"']/g, (c) => ENTITY[c] ?? c) : clean
}

function writeValue(out: string[], name: string, value: DocValue): void {
  if (value === null) {
    out.push(`<${name}/>`)
  } else if (Array.isArray(value)) {
    const item = ITEM_OF[name] ?? 'item'
    out.push(`<${name}>`)
    for (const v of value as readonly DocValue[]) writeValue(out, item, v)
    out.push(`</${name}>`)
  } else if (typeof value === 'object') {
    out.push(`<${name}>`)
    writeRecord(out, value as DocRecord)
    out.push(`</${name}>`)
  } else {
    out.push(`<${name}>${escapeXml(String(value))}</${name}>`)
  }
}

function writeRecord(out: string[], record: DocRecord): void {
  for (const key in record) {
    const value = record[key]
    if (value !== undefined) writeValue(out, key, value)
  }
}

/** One element (`<request>…</request>`) as XML text: a fragment a list answer can reuse. */
export function xmlElement(name: string, value: DocValue): string {
  const out: string[] = []
  writeValue(out, name, value)
  return out.join('')
}

/** The document as UTF-8 XML with its declaration (the spec requires both). */
export function toXml(doc: Document): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', `<${doc.root}>`]
  if ('record' in doc) writeRecord(out, doc.record)
  else for (const item of doc.items) writeValue(out, doc.item, item)
  out.push(`</${doc.root}>`)
  return out.join('')
}

/** The document as JSON: a list document is its array, a record document the record. */
export function toJson(doc: Document): string {
  return JSON.stringify('record' in doc ? doc.record : doc.items)
}

export function render(doc: Document, format: Format): string {
  return format === 'xml' ? toXml(doc) : toJson(doc)
}

/**
 * Offsets of Europe/Istanbul by UTC hour (minutes east of UTC). The zone's offset has only ever
 * changed on the hour, so one look-up per hour serves every instant in it; Intl does the zone maths.
 */
const offsetByHour = new Map<number, number>()
const offsetFormat = new Intl.DateTimeFormat('en-US', { timeZone: CALENDAR_ZONE, timeZoneName: 'longOffset' })

function istanbulOffsetMinutes(ms: number): number {
  const hour = Math.floor(ms / 3_600_000)
  let offset = offsetByHour.get(hour)
  if (offset === undefined) {
    const name = offsetFormat.formatToParts(new Date(hour * 3_600_000)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT'
    const match = /GMT([+-])(\d\d):(\d\d)/.exec(name)
    offset = match === null ? 0 : (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]))
    if (offsetByHour.size > 50_000) offsetByHour.clear()
    offsetByHour.set(hour, offset)
  }
  return offset
}

/** An instant as W3C ISO 8601 in Istanbul time with its offset, to the second: `2026-11-20T12:15:00+03:00`. */
export function istanbulDateTime(ms: number): string {
  const offset = istanbulOffsetMinutes(ms)
  const local = new Date(Math.floor(ms / 1000) * 1000 + offset * 60_000).toISOString().slice(0, 19)
  const sign = offset < 0 ? '-' : '+'
  const abs = Math.abs(offset)
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
}

// Client side of the SMTP fixture (smtp-server.fixture.ts) for the integration tests: starts the
// real SMTP server in a child process and reads back, decoded, what it accepted.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

const fixture = fileURLToPath(new URL('./smtp-server.fixture.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
export interface ReceivedMail {
  readonly envelope: { readonly mailFrom: string | null; readonly rcptTo: string[] }
  readonly headers: Record<string, string[]>
  readonly raw: string
  readonly user: string | null
}

export interface SmtpFixture {
  readonly port: number
  /** Every message the server accepted so far. */
  received(): ReceivedMail[]
}

export async function startSmtpFixture(t: Test): Promise<SmtpFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'civic-desk-smtp-'))
  const file = join(dir, 'messages.jsonl')
  const child = spawn(process.execPath, ['--import=tsx', fixture, file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => reject(new Error(`SMTP fixture did not report its port; stderr: ${stderr}`)), 20_000)
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const line = /^(\d+)\n/.exec(stdout)
      if (line?.[1] !== undefined) {
        clearTimeout(timer)
        resolve(Number(line[1]))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`SMTP fixture exited with ${code}; stderr: ${stderr}`))
    })
  })
  return {
    port,
    received: () =>
      existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as ReceivedMail)
        : [],
  }
}

/** Decodes RFC 2047 encoded words (UTF-8, B or Q), dropping the whitespace between adjacent ones. */
export function decodeHeader(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_match, encoding: string, data: string) =>
      encoding.toLowerCase() === 'b'
        ? Buffer.from(data, 'base64').toString('utf8')
        : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'),
    )
}

/** The decoded text/plain body of a single-part message. */
export function decodeBody(mail: ReceivedMail): string {
  const start = mail.raw.indexOf('\r\n\r\n')
  const body = mail.raw.slice(start + 4)
  const encoding = (mail.headers['content-transfer-encoding']?.[0] ?? '7bit').toLowerCase()
  let decoded: string
  if (encoding === 'base64') decoded = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
  else if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    decoded = Buffer.from(bytes, 'latin1').toString('utf8')
  } else decoded = body
  return decoded.replace(/\r\n/g, '\n').replace(/\n$/, '')
}

export function header(mail: ReceivedMail, name: string): string | undefined {
  return mail.headers[name]?.[0]
}


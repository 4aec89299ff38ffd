// A real SMTP server in a child process for providers.int.test.ts. Usage:
//   node --import=tsx smtp-server.fixture.ts <messages.jsonl>
// Listens on 127.0.0.1, a free port, and prints that port on stdout. Every accepted message is
// appended to the file as one JSON line { envelope, headers, raw, user } before the server answers
// 250, so a resolved send can be read back at once. No STARTTLS (the test client would refuse the
// built-in self-signed certificate); AUTH is optional and accepts civic / s3cret only.
// Recipients whose local part starts with "unknown" get 550, with "busy" get 451.
import { appendFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

const file = process.argv[2]
if (file === undefined) throw new Error('usage: smtp-server.fixture.ts <messages.jsonl>')
const output = file

class SmtpReply extends Error {
  constructor(
    message: string,
    readonly responseCode: number,
  ) {
    super(message)
  }
}

/** Header name (lower case) → raw values in order, folded lines joined. */
function parseHeaders(raw: string): Record<string, string[]> {
  const end = raw.indexOf('\r\n\r\n')
  const block = (end === -1 ? raw : raw.slice(0, end)).replace(/\r\n[ \t]+/g, ' ')
  const headers: Record<string, string[]> = {}
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    ;(headers[name] ??= []).push(line.slice(colon + 1).trim())
  }
  return headers
}

const server = new SMTPServer({
  logger: false,
  disabledCommands: ['STARTTLS'],
  authOptional: true,
  allowInsecureAuth: true,
  onAuth(auth, _session, callback) {
    if (auth.username === 'civic' && auth.password === 's3cret') callback(null, { user: auth.username })
    else callback(new SmtpReply('Invalid username or password', 535))
  },
  onRcptTo(address, _session, callback) {
    const local = address.address.split('@')[0] ?? ''
    if (local.startsWith('unknown')) callback(new SmtpReply('Mailbox unavailable', 550))
    else if (local.startsWith('busy')) callback(new SmtpReply('Mailbox busy, try again later', 451))
    else callback()
  },
  onData(stream, session, callback) {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const envelope = {
        mailFrom: session.envelope.mailFrom === false ? null : session.envelope.mailFrom.address,
        rcptTo: session.envelope.rcptTo.map((r) => r.address),
      }
      appendFileSync(output, `${JSON.stringify({ envelope, headers: parseHeaders(raw), raw, user: session.user ?? null })}\n`)
      callback(null, 'Message queued')
    })
  },
})

server.listen(0, '127.0.0.1', () => {
  const address = server.server.address() as AddressInfo
  process.stdout.write(`${address.port}\n`)
})

process.on('SIGTERM', () => {
  server.close(() => process.exit(0))
})

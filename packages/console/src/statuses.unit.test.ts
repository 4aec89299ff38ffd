// The status lists and sums of the console follow the statuses the API states, not a copy.
import t from 'tap'

interface StatusInfo {
  code: string
  open: boolean
}
interface Statuses {
  statusCodes(statuses: ReadonlyArray<StatusInfo> | undefined, counts: Readonly<Record<string, number>> | undefined): string[]
  countByOpen(statuses: ReadonlyArray<StatusInfo> | undefined, counts: Readonly<Record<string, number>> | undefined): { open: number; answered: number }
}

// A browser module (plain JavaScript, no build step), loaded as it is served.
const s = (await import(new URL('./public/statuses.js', import.meta.url).href)) as Statuses

const fromServer: StatusInfo[] = [
  { code: 'routed', open: true },
  { code: 'submitted', open: true },
  { code: 'on_hold', open: true },
  { code: 'closed', open: false },
]

t.test('the statuses are listed in the server’s order, with its new ones', async (t) => {
  t.same(s.statusCodes(fromServer, { closed: 2, routed: 1 }), ['routed', 'submitted', 'on_hold', 'closed'], 'a status the server adds is listed without a console change')
  t.same(s.statusCodes(fromServer, { archived: 4 }), ['routed', 'submitted', 'on_hold', 'closed', 'archived'], 'a counted code the server did not list is shown last')
  t.same(s.statusCodes(undefined, { routed: 1 }), ['routed'])
})

t.test('open and answered cases are summed by the server’s open flags', async (t) => {
  t.same(s.countByOpen(fromServer, { routed: 3, on_hold: 2, closed: 5, archived: 7 }), { open: 5, answered: 5 }, 'an unlisted code counts in neither')
  t.same(s.countByOpen(fromServer, undefined), { open: 0, answered: 0 })
  t.same(s.countByOpen(undefined, { routed: 3 }), { open: 0, answered: 0 })
})

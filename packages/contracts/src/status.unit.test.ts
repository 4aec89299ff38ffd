// The status rules every package reads: which statuses still owe the citizen an answer, and which
// put a case in its directorate's queue.
import t from 'tap'
import { CaseStatus, OPEN_STATUSES, QUEUE_STATUSES, isOpenStatus, isQueueStatus } from './status.ts'

t.test('open and queue statuses', async (t) => {
  t.same(OPEN_STATUSES, ['submitted', 'routed', 'in_progress', 'waiting_for_citizen'])
  t.same(QUEUE_STATUSES, ['routed', 'in_progress', 'waiting_for_citizen'])
  t.same(
    CaseStatus.options.filter((s) => !isOpenStatus(s)),
    ['resolved', 'rejected', 'closed'],
    'the answered statuses are the rest',
  )
  t.same(CaseStatus.options.filter(isOpenStatus), OPEN_STATUSES, 'open statuses in the order of CaseStatus')
  t.same(CaseStatus.options.filter(isQueueStatus), QUEUE_STATUSES, 'queue statuses in the order of CaseStatus')
  t.notOk(isQueueStatus('submitted'), 'a submitted case is open but in no queue yet')
})

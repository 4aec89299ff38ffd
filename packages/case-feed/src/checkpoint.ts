/**
 * Durable checkpoints: the global position up to which a reader of the log (the relay, a consumer
 * group reading straight from the store) has finished its work. Losing a checkpoint only means
 * doing work again (every handler is idempotent); a checkpoint that ran ahead of the work would
 * skip events, so saves never move it backwards. Where each checkpoint lives is declared here.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { z } from 'zod'

/** The relay's checkpoint in a data folder: the last position it published to `civic.case-events.v1`. */
export function relayCheckpointFile(dataDir: string): string {
  return join(dataDir, 'event-relay.checkpoint.json')
}

/** Folder of the checkpoints of consumer groups that read case events straight from the store. */
export function groupCheckpointDir(dataDir: string): string {
  return join(dataDir, 'consumers')
}

/** The checkpoint file of a consumer group in `groupCheckpointDir(…)`. */
export function groupCheckpointFile(dir: string, groupId: string): string {
  return join(dir, `${groupId.replace(/[^a-zA-Z0-9._-]/g, '_')}.case-events.checkpoint.json`)
}

/** A durable "last published position" (0 = nothing published yet). */
export interface CheckpointStore {
  /** The saved position, 0 when none was saved. */
  load(): Promise<number>
  /** Durably records `position`; a position below the saved one is ignored (never backwards). */
  save(position: number): Promise<void>
}

/** The checkpoint file exists but cannot be trusted; its reader refuses to start rather than guess. */
export class CheckpointCorruptError extends Error {
  override readonly name = 'CheckpointCorruptError'
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(
      `Checkpoint ${file} is unreadable (${reason}). Restore it from a backup, or delete it to ` +
        'read every case event again from the start (safe: handlers de-duplicate by eventId, but slow on a large store).',
    )
  }
}

const CheckpointFile = z.strictObject({
  position: z.number().int().nonnegative(),
  savedAt: z.iso.datetime(),
})

function assertPosition(position: number): void {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`checkpoint position must be an integer >= 0, got ${position}`)
}

/** A checkpoint in memory: for tests, and for a reader whose output forgets everything on restart anyway. */
export function createMemoryCheckpointStore(initial = 0): CheckpointStore & { readonly position: number } {
  assertPosition(initial)
  let position = initial
  return {
    async load() {
      return position
    },
    async save(next) {
      assertPosition(next)
      position = Math.max(position, next)
    },
    get position() {
      return position
    },
  }
}

export interface FileCheckpointStoreOptions {
  /** The JSON file `{ position, savedAt }`; its folder is created when missing. */
  readonly file: string
  /** Clock for `savedAt`; default the system clock. */
  readonly now?: () => Date
}

/**
 * A checkpoint in a JSON file, replaced atomically: written to a temp file beside it, fsynced,
 * renamed over the old one, then the folder fsynced so the rename itself survives a power cut.
 * A missing file is position 0; a corrupt one is a `CheckpointCorruptError` from `load`.
 * Meant for one process per file.
 */
export function createFileCheckpointStore(options: FileCheckpointStoreOptions): CheckpointStore {
  const { file } = options
  const now = options.now ?? (() => new Date())
  const dir = dirname(file)
  // The highest position loaded or saved: the floor for the next save.
  let floor = 0
  let loaded = false
  // Saves run one at a time so an older write can never land after a newer one.
  let queue: Promise<void> = Promise.resolve()

  const read = async (): Promise<number> => {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0
      throw error
    }
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      throw new CheckpointCorruptError(file, 'not valid JSON')
    }
    const parsed = CheckpointFile.safeParse(raw)
    if (!parsed.success) throw new CheckpointCorruptError(file, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '))
    return parsed.data.position
  }

  const write = async (position: number): Promise<void> => {
    await mkdir(dir, { recursive: true })
    const temp = join(dir, `.${basename(file)}.${randomUUID()}.tmp`)
    const body = `${JSON.stringify({ position, savedAt: now().toISOString() })}\n`
    try {
      const handle = await open(temp, 'w', 0o644)
      try {
        await handle.writeFile(body, 'utf8')
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temp, file)
    } catch (error) {
      await rm(temp, { force: true })
      throw error
    }
    const folder = await open(dir, 'r')
    try {
      await folder.sync()
    } finally {
      await folder.close()
    }
  }

  return {
    async load() {
      const position = await read()
      floor = Math.max(floor, position)
      loaded = true
      return position
    },
    save(position) {
      try {
        assertPosition(position)
      } catch (error) {
        return Promise.reject(error as Error)
      }
      const next = queue.then(async () => {
        // Saving without a load first must still not overwrite a higher position on disk.
        if (!loaded) {
          floor = Math.max(floor, await read())
          loaded = true
        }
        if (position <= floor) return
        await write(position)
        floor = position
      })
      // A failed save must not poison the ones after it; the caller sees its own failure.
      queue = next.catch(() => undefined)
      return next
    },
  }
}

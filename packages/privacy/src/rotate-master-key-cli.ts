/**
 * `pnpm privacy:rotate-master-key [--data-dir D]`
 *
 * Rewraps every data key (and the subject index key) under a new master key, all or nothing
 * (`KeyStore.rotateMasterKey`). The current key comes from CIVIC_MASTER_KEY, else the data folder's
 * `master.key`; the new one from CIVIC_NEW_MASTER_KEY, else a new random key. A key from the data
 * folder's file is replaced there, atomically, only after the rotation committed (it waits in
 * `master.key.next` meanwhile); a new key for CIVIC_MASTER_KEY is printed once, before the rotation,
 * for the operator to store. Stop every service first: a running service still holds the old key.
 * Exit codes: 0 rotated, 1 failed (the old key is still the valid one), 2 usage or configuration error.
 */
import { existsSync, fsyncSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { cliSettings, progressLine, runCli, stderrLogger, UsageError } from './cli-support.ts'
import { masterKeyFile, openConfiguredPrivacy, privacySettingsOf } from './configured.ts'
import { MasterKeyError, newMasterKeyText, parseMasterKey } from './master-key.ts'

const USAGE = `usage: pnpm privacy:rotate-master-key [--data-dir D]

  Kişisel verilerin ana anahtarını değiştirir: her veri anahtarı yeni ana anahtarla yeniden sarılır.
  Rotates the master key: every data key is rewrapped under the new master key, all or nothing.
  Current key: CIVIC_MASTER_KEY, else <data folder>/master.key.
  New key:     CIVIC_NEW_MASTER_KEY (64 hex digits or base64), else a new random key.
  Stop every civic-desk service before running it.`

function parse(text: string, what: string) {
  try {
    return parseMasterKey(text)
  } catch (error) {
    if (error instanceof MasterKeyError) throw new UsageError(`${what}: ${error.message}`)
    throw error
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

async function main(): Promise<void> {
  let values: { 'data-dir'?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({ options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }))
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const settings = cliSettings(process.env, values['data-dir'])
  const out = (text: string) => process.stdout.write(`${text}\n`)
  const file = masterKeyFile(settings.dataDir)
  const fromFile = settings.masterKey === undefined
  if (fromFile && !existsSync(file)) throw new UsageError(`ana anahtar bulunamadı / no master key: CIVIC_MASTER_KEY is not set and ${file} does not exist`)
  const onServer = privacySettingsOf(settings).pgUrl !== undefined
  if (!onServer && !existsSync(join(settings.dataDir, 'keys.sqlite'))) {
    throw new UsageError(`anahtar deposu yok / no key store at ${join(settings.dataDir, 'keys.sqlite')}: set CIVIC_DATA_DIR or --data-dir (or CIVIC_EVENT_STORE=postgres with CIVIC_PG_URL)`)
  }
  const currentText = settings.masterKey ?? readFileSync(file, 'utf8')
  const current = parse(currentText, fromFile ? file : 'CIVIC_MASTER_KEY')
  const givenNext = process.env.CIVIC_NEW_MASTER_KEY?.trim()
  const nextText = givenNext === undefined || givenNext === '' ? newMasterKeyText() : givenNext
  const next = parse(nextText, 'CIVIC_NEW_MASTER_KEY')
  if (next.fingerprint === current.fingerprint) throw new UsageError('CIVIC_NEW_MASTER_KEY is the current master key: nothing to rotate')

  const settingsWith = (masterKey: string) => privacySettingsOf({ ...settings, masterKey })
  const privacy = await openConfiguredPrivacy(settingsWith(currentText), { dataDir: settings.dataDir, logger: stderrLogger })
  const pendingFile = `${file}.next`
  let rewrapped: number | undefined
  let failure: unknown
  try {
    out(`anahtar deposu / key store: ${privacy.kind} ${privacy.target}`)
    out(`eski ana anahtar / old master key: ${current.fingerprint} → yeni / new: ${next.fingerprint}`)
    out('Tüm servislerin durdurulmuş olduğundan emin olun / make sure every civic-desk service is stopped.')
    if (fromFile) {
      // The new key is on disk before any data key is wrapped under it.
      writeFileSync(pendingFile, `${nextText}\n`, { mode: 0o600 })
      fsyncPath(pendingFile)
    } else if (givenNext === undefined || givenNext === '') {
      out('')
      out('YENİ ANA ANAHTAR / NEW MASTER KEY (yalnızca bir kez gösterilir / shown only this once):')
      out(`  ${nextText}`)
      out('Bunu şimdi kasaya kaydedin; döndürme başarılı olursa her serviste CIVIC_MASTER_KEY bu değer olmalı.')
      out('Store it in your secrets vault now; once the rotation succeeds, CIVIC_MASTER_KEY must be this value for every service.')
      out('')
    }
    const line = progressLine()
    try {
      ;({ rewrapped } = await privacy.keys.rotateMasterKey(next, (done, total) => line(`yeniden sarılıyor / rewrapping: ${done} / ${total} anahtar / keys`, done === total)))
    } catch (error) {
      failure = error
    }
  } finally {
    await privacy.close()
  }
  if (failure !== undefined) {
    // An error after the commit (e.g. a checkpoint) must not lose the new key: ask the store itself
    // which master key it belongs to now.
    const opensWith = async (text: string): Promise<boolean> => {
      try {
        const probe = await openConfiguredPrivacy(settingsWith(text), { dataDir: settings.dataDir })
        await probe.close()
        return true
      } catch {
        return false
      }
    }
    const committed = (await opensWith(currentText)) ? false : (await opensWith(nextText)) ? true : undefined
    if (committed === undefined) {
      throw new Error(
        `döndürme hata verdi ve tamamlanıp tamamlanmadığı anlaşılamadı; iki anahtarı da saklayın / the rotation failed and whether it committed cannot be told; keep both keys${fromFile ? ` (the new one is in ${pendingFile})` : ''}: ${failure instanceof Error ? failure.message : String(failure)}`,
        { cause: failure },
      )
    }
    if (!committed) {
      if (fromFile) rmSync(pendingFile, { force: true })
      throw new Error(
        `döndürme başarısız, hiçbir anahtar değişmedi; eski ana anahtar geçerli / the rotation failed and changed nothing; the old master key stays valid: ${failure instanceof Error ? failure.message : String(failure)}`,
        { cause: failure },
      )
    }
    out(`döndürme bir hatadan sonra da tamamlanmış / the rotation committed despite an error: ${failure instanceof Error ? failure.message : String(failure)}`)
  } else {
    out(`döndürme tamamlandı / rotation committed: ${rewrapped ?? 0} veri anahtarı yeniden sarıldı / data keys rewrapped`)
  }
  if (fromFile) {
    try {
      renameSync(pendingFile, file)
      fsyncPath(dirname(file))
    } catch (error) {
      throw new Error(
        `anahtarlar yeni ana anahtarla sarıldı ama ${file} değiştirilemedi; yeni anahtar ${pendingFile} dosyasında, onu ${file} yapın / the keys are under the new master key but ${file} could not be replaced: the new key is in ${pendingFile}; move it to ${file}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      )
    }
    out(`${file} yeni anahtarla değiştirildi / now holds the new master key.`)
  } else {
    out('Şimdi her serviste CIVIC_MASTER_KEY değerini yeni anahtar yapıp servisleri başlatın. / Now set CIVIC_MASTER_KEY to the new key for every service and start them.')
  }
  out('Döndürmeden önce alınmış anahtar deposu yedekleri yalnızca eski anahtarla açılır / backups of the key store made before today open only with the old master key: keep it as long as those backups, then destroy both.')
}

runCli('privacy:rotate-master-key', main)

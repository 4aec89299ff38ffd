// The gate and launcher of every test that drives a real browser: Debian's Chromium through
// playwright-core (which never downloads a browser of its own). Like `kafkaTestBrokers`, a
// missing browser skips the test with a hint unless CIVIC_REQUIRE_BROWSER=1 (CI), where it fails.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import type { Test } from 'tap'

/** Flags for a quiet, offline, reproducible headless Chromium (no updates, sync, QUIC or first-run UI). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
]

const BROWSER_TEST_HINT = 'install Chromium (apt-get install chromium) or set CIVIC_CHROMIUM to its executable to run'

/** The Chromium executable the tests use: `CIVIC_CHROMIUM`, else Debian's `/usr/bin/chromium`. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CIVIC_CHROMIUM ?? '/usr/bin/chromium'
}

/**
 * Launches headless Chromium for a test and closes it at the test's end; `undefined` when there
 * is none (the test is skipped with a hint, or failed under `CIVIC_REQUIRE_BROWSER=1`). Each
 * launch gets a fresh temporary profile (user-data dir), removed again when the browser closes.
 */
export async function launchTestBrowser(t: Test, env: NodeJS.ProcessEnv = process.env): Promise<Browser | undefined> {
  const executablePath = chromiumPath(env)
  if (!existsSync(executablePath)) {
    const reason = `no Chromium at ${executablePath}: ${BROWSER_TEST_HINT}`
    if (env.CIVIC_REQUIRE_BROWSER === '1') {
      t.fail(`CIVIC_REQUIRE_BROWSER=1 but ${reason}`)
    } else {
      await t.test(`browser tests: ${BROWSER_TEST_HINT}`, { skip: reason }, async () => undefined)
    }
    return undefined
  }
  let browser: Browser
  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: 30_000,
      env: { ...env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
    })
  } catch (error) {
    t.fail(`Chromium at ${executablePath} is there but did not start: ${error instanceof Error ? error.message : String(error)}`)
    return undefined
  }
  t.teardown(() => browser.close())
  return browser
}

#!/usr/bin/env node
// Waits until a broker really serves metadata, then creates the product topics of topics.json
// that are missing (existing ones are left alone) and warms up the group coordinator, so the
// first consumer group of a test run does not pay for creating __consumer_offsets.
//
//   node infra/kafka/topics.mjs [--brokers 127.0.0.1:9092] [--timeout 60] [--replication-factor 1]
//
// Exit codes: 0 ready, 1 not ready before the timeout or a topic could not be created.
// Uses the kafkajs installed for @civic-desk/messaging (run `pnpm install` first).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}` },
    timeout: { type: 'string', default: '60' },
    'replication-factor': { type: 'string', default: '1' },
  },
})
const brokers = args.brokers.split(',').map((broker) => broker.trim()).filter(Boolean)
const deadline = Date.now() + Number(args.timeout) * 1000
const replicationFactor = Number(args['replication-factor'])
const say = (message) => console.log(`[kafka] ${message}`)

let kafkajs
try {
  kafkajs = createRequire(new URL('../../packages/messaging/package.json', import.meta.url))('kafkajs')
} catch {
  console.error('[kafka] ERROR: kafkajs is not installed: run `pnpm install` in the repository first')
  process.exit(1)
}
const { Kafka, logLevel } = kafkajs

const { topics } = JSON.parse(readFileSync(new URL('./topics.json', import.meta.url), 'utf8'))

const kafka = new Kafka({
  clientId: 'civic-desk-kafka-setup',
  brokers,
  connectionTimeout: 3_000,
  requestTimeout: 10_000,
  // The loops below retry until the deadline; kafkajs' own retries would only hide progress.
  retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 },
  // Connection errors are expected while the broker starts; the loops report what matters.
  logLevel: logLevel.NOTHING,
})

/** Calls `action` until it succeeds or the deadline passes; returns its result. */
async function untilDeadline(what, action) {
  let lastError
  for (;;) {
    try {
      return await action()
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) throw new Error(`${what}: still failing after ${args.timeout} s: ${lastError?.message ?? lastError}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

const admin = kafka.admin()
try {
  const existing = await untilDeadline(`broker metadata from ${brokers.join(',')}`, async () => {
    await admin.connect()
    return admin.listTopics()
  })
  const missing = topics.filter((topic) => !existing.includes(topic.name))
  if (missing.length > 0) {
    await untilDeadline('create topics', async () => {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic: topic.name, numPartitions: topic.partitions, replicationFactor })),
        })
      } catch (error) {
        // A concurrent creator (or a retry after a timeout) got there first: fine.
        if (error?.type !== 'TOPIC_ALREADY_EXISTS' && !error?.errors?.every?.((inner) => inner?.type === 'TOPIC_ALREADY_EXISTS')) throw error
      }
    })
  }
  const metadata = await untilDeadline('topic metadata', () => admin.fetchTopicMetadata({ topics: topics.map((topic) => topic.name) }))
  for (const topic of topics) {
    const found = metadata.topics.find((entry) => entry.name === topic.name)
    const partitions = found?.partitions.length ?? 0
    const note = missing.includes(topic) ? 'created' : 'exists'
    if (partitions < topic.partitions) say(`WARNING: ${topic.name} has ${partitions} partitions, topics.json asks for ${topic.partitions}`)
    else say(`topic ${topic.name}: ${partitions} partitions (${note})`)
  }
  // The first group request makes the broker create __consumer_offsets; do it now, not in a test.
  await untilDeadline('group coordinator', async () => {
    const { groups } = await admin.describeGroups(['civic-desk-kafka-setup'])
    if (groups.length !== 1) throw new Error('no answer from the group coordinator')
  })
  say(`broker ${brokers.join(',')} ready: serves metadata and consumer groups`)
} catch (error) {
  console.error(`[kafka] ERROR: ${error?.message ?? error}`)
  process.exitCode = 1
} finally {
  await admin.disconnect().catch(() => undefined)
}

// Publisher side of the throughput benchmark, run as its own process like a worker:
//
//   tsx bench/comm/throughput-publisher.ts pipeline|raw URL JOB PARAMETERS UPDATES
//
// Prepares its data, prints {"ready": true}, waits for a line on stdin, and publishes. When every
// publish is acknowledged, it prints {"updateBytes": B, "messagesPerUpdate": M, "cpuMs": C}, where
// C is this process's CPU time since the start signal. `pipeline` prepares each update and
// publishes it with publishUpdate. `raw` publishes messages of the same
// sizes, split the same way, prepared before the start.
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { formatUpdateId, updateSubject } from '@asyncfl/protocol';
import { connectNats, publishUpdate } from '@asyncfl/transport';
import {
  PUBLISHERS,
  encodeBenchUpdate,
  modelOf,
  prepareBenchUpdate,
  rawPayloads,
  tensorsOf,
} from './throughput-model';

const [mode, url, job, parametersText, updatesText] = process.argv.slice(2);
if (!mode || !url || !job || !parametersText || !updatesText) {
  console.error('usage: throughput-publisher.ts pipeline|raw URL JOB PARAMETERS UPDATES');
  process.exit(2);
}
const parameters = Number(parametersText);
const updates = Number(updatesText);
const spec = modelOf(parameters);
// A few distinct deltas, so that encoding does real work on each update.
const deltas = [1, 2, 3, 4].map((seed) => tensorsOf(spec, seed));

/** Runs `count` publishes through `PUBLISHERS` concurrent loops. */
async function publishConcurrently(count: number, publish: (index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      while (next < count) await publish(next++);
    })
  );
}

const nc = await connectNats({ servers: [url], name: `bench-publisher-${mode}` });
const js: JetStreamClient = jetstream(nc);
const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
const payloads = rawPayloads(job, parameters, maxPayload);
const updateBytes = encodeBenchUpdate(job, 0, 1, deltas[0]!).length;
let messagesPerUpdate = payloads.length;

console.log(JSON.stringify({ ready: true }));
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.pause();
const cpuAtStart = process.cpuUsage();

await publishConcurrently(updates, async (index) => {
  const rank = index % PUBLISHERS;
  const seq = Math.floor(index / PUBLISHERS) + 1;
  const subject = updateSubject(job, rank);
  if (mode === 'raw') {
    for (const [part, payload] of payloads.entries()) {
      await js.publish(subject, payload, { msgID: `${job}.${index}.${part}` });
    }
    return;
  }
  const update = prepareBenchUpdate(job, rank, seq, deltas[index % deltas.length]!);
  const id = formatUpdateId({ job, rank, incarnation: 'cafe0001', seq });
  const ack = await publishUpdate(js, subject, id, update, { maxPayload });
  messagesPerUpdate = ack.messages;
});
const cpu = process.cpuUsage(cpuAtStart);
console.log(
  JSON.stringify({ updateBytes, messagesPerUpdate, cpuMs: (cpu.user + cpu.system) / 1000 })
);
await nc.close();

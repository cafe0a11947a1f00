// The end-of-run audit of the delivery guarantee: every acknowledged publish is recorded
// exactly once as applied or rejected, and replaying the applied updates offline, in the
// recorded order, from the initial model reproduces the final model bit for bit.
import assert from 'node:assert/strict';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { ObjectStore } from '@nats-io/obj';
import { createRule, type UpdateInput } from '@asyncfl/aggregation';
import { loadAggregatorConfig } from '@asyncfl/config';
import { createModel, getWeights, initBackend, modelSpec } from '@asyncfl/model';
import {
  Reassembler,
  decodeEnvelope,
  decodeSnapshot,
  formatUpdateId,
  jobUpdateFilter,
  type Manifest,
  type UpdateMessage,
} from '@asyncfl/protocol';
import { UPDATE_STREAM, getSnapshot } from '@asyncfl/transport';
import { ruleConfigOf } from '../../services/aggregator/src/aggregator';
import { recordedIds } from './harness';

/** Reads every whole update in a job's stream by id, reassembling chunks where needed. */
export async function readStreamUpdates(
  nc: NatsConnection,
  job: string
): Promise<{
  updates: Map<string, UpdateMessage>;
  ids: Set<string>;
}> {
  // A cluster that just lost a node may still be electing leaders, so allow long API waits
  // and a few attempts to create the reading consumer.
  const js = jetstream(nc, { timeout: 15_000 });
  const consumer = await (async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await js.consumers.get(UPDATE_STREAM, { filter_subjects: jobUpdateFilter(job) });
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    }
  })();
  const updates = new Map<string, UpdateMessage>();
  const ids = new Set<string>();
  const reassembler = new Reassembler<number>({ maxUpdateBytes: 1 << 30, maxOpenSets: 1 << 16 });
  for (;;) {
    const msg = await consumer.next({ expires: 2_000 });
    if (msg === null) break;
    try {
      const envelope = decodeEnvelope(msg.data);
      if (envelope.kind === 'update') {
        const u = envelope.update;
        const id = formatUpdateId({
          job: u.job,
          rank: u.rank,
          incarnation: u.incarnation,
          seq: u.seq,
        });
        ids.add(id);
        updates.set(id, u);
      } else {
        ids.add(envelope.chunk.updateId);
        const result = reassembler.add(envelope.chunk, 0, msg.seq);
        if (result.status === 'complete') {
          const whole = decodeEnvelope(result.bytes);
          if (whole.kind === 'update') updates.set(envelope.chunk.updateId, whole.update);
        }
      }
    } catch {
      // The aggregator records undecodable messages under their stream sequence.
      ids.add(`seq:${msg.seq}`);
    }
    if (msg.info.pending === 0) break;
  }
  return { updates, ids };
}

/** Checks that each published id is recorded exactly once and nothing else is recorded. */
export function assertExactlyOnce(published: Set<string>, manifests: readonly Manifest[]): void {
  const recorded = recordedIds(manifests);
  const missing = [...published].filter((id) => !recorded.has(id));
  const doubled = [...recorded].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`);
  const unknown = [...recorded.keys()].filter((id) => !published.has(id));
  assert.deepEqual(missing, [], 'published updates with no record');
  assert.deepEqual(doubled, [], 'updates recorded more than once');
  assert.deepEqual(unknown, [], 'records of updates never published');
}

/**
 * Replays the applied ids of `manifests` in order from the initial model of the given
 * aggregator arguments and compares the result with the final snapshot, bit for bit.
 * Returns the number of updates replayed.
 */
export async function assertReplayMatches(options: {
  aggregatorArgs: string[];
  manifests: readonly Manifest[];
  updates: Map<string, UpdateMessage>;
  snapshots: ObjectStore;
}): Promise<number> {
  await initBackend('cpu');
  const config = loadAggregatorConfig({ args: options.aggregatorArgs, env: {} });
  const model = createModel(config.model.name, {
    hidden: [...config.model.hidden],
    seed: config.model.seed,
  });
  const spec = modelSpec(model);
  const rule = createRule(ruleConfigOf(config), spec, getWeights(model), 0);
  model.dispose();

  let replayed = 0;
  for (const manifest of options.manifests) {
    for (const id of manifest.covers.applied) {
      const update = options.updates.get(id);
      assert.ok(update, `applied update ${id} is not in the stream`);
      const input: UpdateInput = {
        id,
        rank: update.rank,
        baseVersion: update.baseVersion,
        numExamples: update.numExamples,
        tensors: new Map(update.tensors.map((t) => [t.name, t.values])),
      };
      rule.submit(input);
      replayed += 1;
    }
  }
  const last = options.manifests.at(-1);
  assert.ok(last, 'no manifest was recorded');
  assert.equal(
    rule.version,
    last.version,
    'replay ends at another version than the final manifest'
  );
  // As in readStreamUpdates, a cluster that just lost a node may time out a few API requests.
  const final = decodeSnapshot(
    await (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await getSnapshot(options.snapshots, last);
        } catch (err) {
          if (attempt >= 5) throw err;
          await new Promise((resolve) => setTimeout(resolve, 2_000));
        }
      }
    })()
  );
  for (const tensor of final.weights) {
    const replayedValues = rule.weights.get(tensor.name);
    assert.ok(replayedValues, `tensor ${tensor.name} missing from the replay`);
    const a = new Uint32Array(tensor.values.buffer, tensor.values.byteOffset, tensor.values.length);
    const b = new Uint32Array(
      replayedValues.buffer,
      replayedValues.byteOffset,
      replayedValues.length
    );
    let differing = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differing += 1;
    assert.equal(
      differing,
      0,
      `tensor ${tensor.name}: ${differing} of ${a.length} values differ from the replay`
    );
  }
  return replayed;
}

import { assertReplayMatches, readStreamUpdates } from './audit';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Manifest } from '@asyncfl/protocol';
import { connectNats, getSnapshot, provisionAssets, readLatestManifest } from '@asyncfl/transport';
import {
  publishedUpdateIds,
  recordManifests,
  recordedIds,
  startServer,
  startService,
  tempDir,
  type ServiceProcess,
  type TestNatsServer,
} from './harness';

/** Upper bound on any single wait, so a stuck service fails the test instead of hanging it. */
const WAIT_LIMIT_MS = 300_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `condition` until it holds. Fails early when one of `running` exits, with its
 * output, because then the condition can no longer come true.
 */
async function waitFor(
  condition: () => boolean,
  description: string,
  running: readonly ServiceProcess[]
): Promise<void> {
  const startedAt = Date.now();
  while (!condition()) {
    for (const service of running) {
      const code = service.child.exitCode ?? service.child.signalCode;
      if (code !== null) {
        assert.fail(
          `a service exited with ${code} while waiting until ${description}:\n${service.output.slice(-4000)}`
        );
      }
    }
    if (Date.now() - startedAt > WAIT_LIMIT_MS) {
      assert.fail(`timed out waiting until ${description}`);
    }
    await sleep(20);
  }
}

/** Log lines of a service whose message is `message`. */
function logged(service: ServiceProcess, message: string): Record<string, unknown>[] {
  return service.logLines().filter((line) => line.msg === message);
}

/** Ids of the updates an aggregator logged as accepted, in log order (trace level). */
function acceptedIds(aggregator: ServiceProcess): string[] {
  return logged(aggregator, 'update accepted').map((line) => String(line.updateId));
}

/**
 * Ids an aggregator accepted after its newest 'snapshot written' line (debug level), so no
 * stored manifest covers them yet.
 */
function acceptedSinceLastSnapshot(aggregator: ServiceProcess): string[] {
  let ids: string[] = [];
  for (const line of aggregator.logLines()) {
    if (line.msg === 'snapshot written') ids = [];
    else if (line.msg === 'update accepted') ids.push(String(line.updateId));
  }
  return ids;
}

/** Asserts that every published update id is recorded exactly once across `manifests`. */
async function auditExactlyOnce(
  nc: NatsConnection,
  job: string,
  manifests: readonly Manifest[]
): Promise<void> {
  const published = await publishedUpdateIds(nc, job);
  const recorded = recordedIds(manifests);
  const missing = [...published.keys()].filter((id) => !recorded.has(id));
  const doubled = [...recorded].filter(([, n]) => n > 1).map(([id]) => id);
  const unknown = [...recorded.keys()].filter((id) => !published.has(id));
  assert.ok(published.size > 0, 'no update was published');
  assert.deepEqual(missing, [], 'published updates with no record');
  assert.deepEqual(doubled, [], 'updates recorded more than once');
  assert.deepEqual(unknown, [], 'records of updates never published');
}

/** Asserts that manifest versions never decrease in the order they were written. */
function assertVersionsNonDecreasing(manifests: readonly Manifest[]): void {
  for (let i = 1; i < manifests.length; i++) {
    const previous = manifests[i - 1]!;
    const current = manifests[i]!;
    assert.ok(
      current.version >= previous.version,
      `manifest ${i} has version ${current.version}, below version ${previous.version} before it`
    );
  }
}

describe('aggregator restarts', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let dir: string;

  before(async () => {
    server = await startServer();
    nc = await connectNats({ servers: [server.url], name: 'integration-test-restart' });
    dir = tempDir('restart');
  });

  after(async () => {
    await nc?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('restart after SIGKILL keeps exactly-once accounting', { timeout: 900_000 }, async (t) => {
    const job = 'it-restart';
    const { modelKv, snapshots } = await provisionAssets(nc);
    const recorder = await recordManifests(modelKv, job);
    const report = join(dir, 'restart-report.json');
    const maxVersions = 160;
    const common = ['--nats', server.url, '--job', job];
    // Every aggregator run gets the same flags. The short ack wait makes the server
    // redeliver within seconds what a killed run received but never acknowledged. Trace
    // level logs each accepted update and debug level each stored snapshot.
    const aggregatorArgs = [
      ...common,
      '--max-versions',
      String(maxVersions),
      '--time-budget-s',
      '600',
      '--snapshot-every',
      '4',
      '--snapshot-interval-ms',
      '500',
      '--ack-wait-ms',
      '3000',
      '--report',
      report,
      '--log-level',
      'trace',
    ];
    const workers = startService('worker', [
      ...common,
      '--rank',
      '0',
      '--count',
      '3',
      '--world',
      '3',
      '--id',
      'rs',
    ]);

    const newest = () => recorder.manifests.at(-1);
    const runs: ServiceProcess[] = [];
    // The manifest stored when each run was killed, which the next run must restore.
    const storedAtKill: { version: number; revision: number }[] = [];
    // Updates each killed run applied that no stored manifest covered when it died.
    const lostAtKill: string[][] = [];
    // Each run stamps its manifests with its own start time in `progress.startedAt`.
    const earlierRunStarts = new Set<string>();

    /** Kills the newest run with SIGKILL and waits until its last manifest is recorded. */
    const killNewest = async () => {
      const run = runs.at(-1)!;
      run.kill('SIGKILL');
      const code = await run.exited;
      assert.equal(code, 128, `run ${runs.length} was not killed by the signal`);
      const latest = await readLatestManifest(modelKv, job);
      assert.ok(latest !== null, `no manifest was stored before run ${runs.length} was killed`);
      assert.equal(latest.manifest.final, false, 'a killed run stored a final manifest');
      storedAtKill.push({ version: latest.manifest.version, revision: latest.revision });
      await waitFor(
        () => newest()?.createdAt === latest.manifest.createdAt,
        `the manifest stored at revision ${latest.revision} is recorded`,
        [workers]
      );
      const recorded = recordedIds(recorder.manifests);
      lostAtKill.push(acceptedIds(run).filter((id) => !recorded.has(id)));
      for (const m of recorder.manifests) earlierRunStarts.add(m.progress.startedAt);
    };

    // Run 1: a fresh job. It is killed past version 40 while it has applied updates
    // that no stored manifest covers yet, so the next run must apply them again.
    runs.push(startService('aggregator', aggregatorArgs));
    await waitFor(
      () => (newest()?.version ?? 0) >= 40 && acceptedSinceLastSnapshot(runs[0]!).length > 0,
      'run 1 stores version 40 and applies an update after it',
      [runs[0]!, workers]
    );
    await killNewest();

    // Run 2: restored, then killed the same way 30 versions later.
    runs.push(startService('aggregator', aggregatorArgs));
    const run2Target = storedAtKill[0]!.version + 30;
    await waitFor(
      () =>
        (newest()?.version ?? 0) >= run2Target && acceptedSinceLastSnapshot(runs[1]!).length > 0,
      `run 2 stores version ${run2Target} and applies an update after it`,
      [runs[1]!, workers]
    );
    await killNewest();

    // Run 3: killed right after its first manifest is stored, while the messages that
    // manifest covers may still be unacknowledged.
    runs.push(startService('aggregator', aggregatorArgs));
    await waitFor(
      () => recorder.manifests.some((m) => !earlierRunStarts.has(m.progress.startedAt)),
      'run 3 stores its first manifest',
      [runs[2]!, workers]
    );
    await killNewest();

    // Runs 4 and 5: restored and killed 20 versions later, so the aggregator dies five times.
    for (const index of [3, 4]) {
      runs.push(startService('aggregator', aggregatorArgs));
      const target = storedAtKill.at(-1)!.version + 20;
      await waitFor(
        () => (newest()?.version ?? 0) >= target,
        `run ${index + 1} stores version ${target}`,
        [runs[index]!, workers]
      );
      await killNewest();
    }

    // Run 6: restored and left to finish the job.
    runs.push(startService('aggregator', aggregatorArgs));
    const lastRun = runs[5]!;
    const lastCode = await lastRun.exited;
    assert.equal(lastCode, 0, `the last aggregator failed:\n${lastRun.output.slice(-4000)}`);
    const workersCode = await workers.exited;
    assert.equal(workersCode, 0, `workers failed:\n${workers.output.slice(-4000)}`);
    await sleep(500);
    recorder.stop();

    const manifests = recorder.manifests;
    const final = manifests.at(-1)!;
    t.diagnostic(
      `${manifests.length} manifests; runs 2 to 6 restored versions ${storedAtKill.map((s) => s.version).join(', ')}; final version ${final.version}`
    );
    t.diagnostic(`updates lost with each killed run: ${lostAtKill.map((ids) => ids.length)}`);

    assert.ok(manifests.length > 4, `expected several manifests, got ${manifests.length}`);
    assertVersionsNonDecreasing(manifests);
    assert.equal(final.final, true, 'the last manifest is not final');
    assert.ok(
      final.version >= maxVersions,
      `final version ${final.version} is below --max-versions ${maxVersions}`
    );
    await getSnapshot(snapshots, final);

    // Runs 2 to 6 each restored the manifest stored when the run before was killed.
    for (let i = 1; i < runs.length; i++) {
      const restored = logged(runs[i]!, 'restored the newest snapshot');
      assert.equal(restored.length, 1, `run ${i + 1} did not log a restored snapshot`);
      assert.equal(
        restored[0]!.version,
        storedAtKill[i - 1]!.version,
        `run ${i + 1} restored the wrong version`
      );
      assert.equal(
        restored[0]!.revision,
        storedAtKill[i - 1]!.revision,
        `run ${i + 1} restored the wrong manifest revision`
      );
    }

    // The crash path ran: some updates were applied only in a killed run's memory. The
    // audit below then requires each of them to be recorded once by a later run.
    const lost = lostAtKill.flat();
    assert.ok(lost.length > 0, 'no kill left an applied update without a stored manifest');
    await auditExactlyOnce(nc, job, manifests);
    const recordedAfterKill = recordedIds(manifests);
    assert.deepEqual(
      lost.filter((id) => !recordedAfterKill.has(id)),
      [],
      'updates lost with a killed run were never recorded later'
    );

    // Progress totals are restored from the manifest, so the final manifest's totals must
    // equal the ids recorded across all manifests.
    const applied = manifests.reduce((n, m) => n + m.covers.applied.length, 0);
    const rejected = manifests.reduce((n, m) => n + m.covers.rejected.length, 0);
    assert.equal(final.progress.updatesApplied, applied, 'applied total in the final manifest');
    assert.equal(final.progress.updatesRejected, rejected, 'rejected total in the final manifest');
    const result = JSON.parse(readFileSync(report, 'utf8'));
    assert.equal(result.stopReason, 'max_versions');
    assert.equal(result.updatesApplied, applied, 'applied total in the report');
    assert.equal(result.updatesRejected, rejected, 'rejected total in the report');

    // The final model holds exactly the recorded updates, in the recorded order.
    const { updates } = await readStreamUpdates(nc, job);
    const replayed = await assertReplayMatches({ aggregatorArgs, manifests, updates, snapshots });
    assert.equal(replayed, applied);
  });

  test('rival aggregator stops on a manifest conflict', { timeout: 600_000 }, async (t) => {
    const job = 'it-dual';
    const { modelKv, snapshots } = await provisionAssets(nc);
    const recorder = await recordManifests(modelKv, job);
    const common = ['--nats', server.url, '--job', job];
    const aggregatorArgs = [
      ...common,
      '--max-versions',
      '80',
      '--time-budget-s',
      '600',
      '--snapshot-every',
      '4',
      '--snapshot-interval-ms',
      '500',
      '--ack-wait-ms',
      '3000',
    ];
    const conflict = /ManifestConflictError.*another aggregator is writing job 'it-dual'/;

    /** Waits until one of two rival aggregators exits and checks it stopped on a conflict. */
    const expectOneConflict = async (a: ServiceProcess, b: ServiceProcess, round: string) => {
      const loser = await Promise.race([a.exited.then(() => a), b.exited.then(() => b)]);
      const code = await loser.exited;
      assert.equal(
        code,
        1,
        `${round}: the aggregator that stopped first:\n${loser.output.slice(-4000)}`
      );
      assert.match(loser.output, conflict, `${round}: the stop was not a manifest conflict`);
      const restored = logged(loser, 'restored the newest snapshot').length > 0;
      t.diagnostic(
        `${round}: the ${loser === a ? 'first' : 'second'} aggregator lost (it ${restored ? 'restored a snapshot' : 'started from the initial model'})`
      );
      return loser === a ? b : a;
    };

    // Round 1: two aggregators start at once on a job with no manifest.
    const workers = startService('worker', [
      ...common,
      '--rank',
      '0',
      '--count',
      '2',
      '--world',
      '2',
      '--id',
      'dual',
    ]);
    const survivor = await expectOneConflict(
      startService('aggregator', aggregatorArgs),
      startService('aggregator', aggregatorArgs),
      'start at once'
    );

    // Round 2: a third aggregator joins the running one. It restores the newest snapshot
    // and shares the durable consumer until one of the two fails to store a manifest.
    await waitFor(
      () => (recorder.manifests.at(-1)?.version ?? 0) >= 8,
      'the remaining aggregator stores version 8',
      [survivor, workers]
    );
    const joined = startService('aggregator', aggregatorArgs);
    const last = await expectOneConflict(survivor, joined, 'join a running one');

    const lastCode = await last.exited;
    assert.equal(lastCode, 0, `the remaining aggregator failed:\n${last.output.slice(-4000)}`);
    const workersCode = await workers.exited;
    assert.equal(workersCode, 0, `workers failed:\n${workers.output.slice(-4000)}`);
    await sleep(500);
    recorder.stop();

    const manifests = recorder.manifests;
    assertVersionsNonDecreasing(manifests);
    const final = manifests.at(-1)!;
    assert.equal(final.final, true, 'the last manifest is not final');
    // NOTE: only the final snapshot is checked. Snapshot object names carry only the job and
    // version, so a losing aggregator can overwrite the object of an earlier manifest that
    // the winner stored at the same version.
    await getSnapshot(snapshots, final);
    await auditExactlyOnce(nc, job, manifests);
  });
});

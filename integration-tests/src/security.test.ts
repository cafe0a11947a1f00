// Authentication, subject permissions and TLS against a real nats-server started with the
// configuration that `npm run credentials` generates and a CA made by openssl for this suite.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { nkeys, type NatsConnection } from '@nats-io/nats-core';
import { encodeUpdate, updateSubject } from '@asyncfl/protocol';
import {
  AGGREGATOR_IDENTITY,
  ConnectError,
  LocalNatsServer,
  OPERATOR_IDENTITY,
  PermissionDeniedError,
  UPDATE_STREAM,
  claimRank,
  connectNats,
  ensureAggregatorConsumer,
  openAssets,
  permissionDenied,
  provisionAssets,
  publishUpdate,
  putSnapshot,
  renderAuthorizationConfig,
  securedConnectionOptions,
  workerIdentity,
  type ClientTlsOptions,
  type JetStreamAssets,
} from '@asyncfl/transport';
import { startService, tempDir } from './harness';
import { createTestAuthority, hasOpenssl, type CertificateFiles } from './tls';

const root = fileURLToPath(new URL('../..', import.meta.url));
const JOB = 'sec';
const WORLD = 5;

/** Runs the credentials command as a user would. */
function generateCredentials(out: string): void {
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'scripts/credentials.ts'),
      '--world',
      String(WORLD),
      '--job',
      JOB,
      '--out',
      out,
    ],
    { cwd: root, encoding: 'utf8' }
  );
  assert.equal(result.status, 0, `credentials command failed: ${result.stderr}`);
}

/** Writes a server configuration with TLS that includes an authorization file. */
function writeServerConfig(
  path: string,
  server: CertificateFiles,
  caFile: string,
  verifyClients: boolean,
  authorizationFile: string
): void {
  writeFileSync(
    path,
    [
      'tls {',
      `  cert_file: ${JSON.stringify(server.certFile)}`,
      `  key_file: ${JSON.stringify(server.keyFile)}`,
      `  ca_file: ${JSON.stringify(caFile)}`,
      `  verify: ${verifyClients}`,
      '  timeout: 5',
      '}',
      `include ${JSON.stringify(authorizationFile)}`,
      '',
    ].join('\n')
  );
}

/** Awaits an action that must fail with the server's permission violation. */
async function assertDenied(
  action: () => Promise<unknown>,
  identity: string,
  subject: string
): Promise<PermissionDeniedError> {
  const outcome = await action().then(
    () => undefined,
    (err: unknown) => err
  );
  assert.ok(outcome !== undefined, `${identity} was allowed to use ${subject}`);
  const denied = permissionDenied(outcome, identity);
  assert.ok(denied, `expected a permission violation, got ${String(outcome)}`);
  assert.equal(denied.identity, identity);
  assert.equal(denied.subject, subject);
  assert.ok(denied.message.includes(`'${identity}'`), denied.message);
  assert.ok(denied.message.includes(`"${subject}"`), denied.message);
  return denied;
}

/** Subscribes and returns the error the subscription closes with, if any, within a second. */
async function subscribeOutcome(nc: NatsConnection, subject: string): Promise<unknown> {
  const sub = nc.subscribe(subject);
  const timeout = new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 1_000));
  const outcome = await Promise.race([sub.closed, timeout]);
  if (outcome === 'open') {
    sub.unsubscribe();
    return undefined;
  }
  return outcome;
}

/** Sends a request and returns its reply; the permission tests need only its outcome. */
function apiRequest(nc: NatsConnection, subject: string, body: object): Promise<unknown> {
  return nc.request(subject, JSON.stringify(body), { timeout: 2_000 });
}

function update(rank: number, seq: number): Uint8Array {
  return encodeUpdate({
    job: JOB,
    rank,
    workerId: `sec-${rank}`,
    incarnation: 'feedface',
    seq,
    baseVersion: 0,
    numExamples: 1,
    localSteps: 1,
    localLr: 0.1,
    trainLoss: 1,
    architectureHash: 'x',
    tensors: [{ name: 'w', shape: [2], values: new Float32Array([1, 2]) }],
  });
}

describe(
  'security with NKeys and TLS',
  { skip: !hasOpenssl() && 'openssl is not installed' },
  () => {
    let dir: string;
    let generated: string;
    let clientTls: ClientTlsOptions;
    let server: LocalNatsServer;
    let serverCert: CertificateFiles;
    let caFile: string;
    const open: NatsConnection[] = [];

    const seedFile = (identity: string) => join(generated, 'nkeys', `${identity}.nk`);

    async function connectAs(
      identity: string,
      tls: ClientTlsOptions = clientTls,
      target: LocalNatsServer = server
    ): Promise<NatsConnection> {
      const nc = await connectNats({
        servers: [target.url],
        name: `security-test-${identity}`,
        connectTimeoutMs: 5_000,
        ...securedConnectionOptions({ nkeySeedFile: seedFile(identity), tls }, JOB, identity),
      });
      open.push(nc);
      return nc;
    }

    before(async () => {
      dir = tempDir('security');
      generated = join(dir, 'generated');
      generateCredentials(generated);
      const ca = createTestAuthority(dir, 'asyncfl-test-ca');
      caFile = ca.certFile;
      serverCert = ca.issue('server', 'serverAuth');
      const client = ca.issue('client', 'clientAuth');
      clientTls = { caFile, certFile: client.certFile, keyFile: client.keyFile };
      const config = join(dir, 'mtls.conf');
      writeServerConfig(config, serverCert, caFile, true, 'generated/nats-auth.conf');
      server = await LocalNatsServer.start({ args: ['-c', config] });
    });

    after(async () => {
      for (const nc of open) await nc.close().catch(() => undefined);
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('generator writes seeds apart from the config', () => {
      const config = readFileSync(join(generated, 'nats-auth.conf'), 'utf8');
      const secrets = readFileSync(join(generated, 'kubernetes', 'secrets.yaml'), 'utf8');
      const configMap = readFileSync(
        join(generated, 'kubernetes', 'nats-auth-configmap.yaml'),
        'utf8'
      );
      const identities = [
        'aggregator',
        'operator',
        ...Array.from({ length: WORLD }, (_, r) => `worker-${r}`),
      ];
      for (const identity of identities) {
        const seed = readFileSync(seedFile(identity), 'utf8').trim();
        assert.match(seed, /^SU[A-Z2-7]{56}$/);
        assert.equal(statSync(seedFile(identity)).mode & 0o777, 0o600, `${identity}.nk mode`);
        const publicKey = nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
        assert.ok(config.includes(publicKey), `${identity}'s public key is not in the config`);
        assert.ok(!config.includes(seed), `${identity}'s seed is in the server config`);
        assert.ok(!configMap.includes(seed), `${identity}'s seed is in the ConfigMap`);
        assert.ok(
          secrets.includes(Buffer.from(`${seed}\n`).toString('base64')),
          `${identity}'s seed is not in the Secrets`
        );
      }
      assert.ok(!/SU[A-Z2-7]{56}/.test(config));
      assert.ok(!/SU[A-Z2-7]{56}/.test(configMap));
    });

    test('client without credentials cannot connect', async () => {
      await assert.rejects(
        connectNats({ servers: [server.url], name: 'anonymous', tls: clientTls }),
        (err: unknown) =>
          err instanceof ConnectError && /authorization violation/i.test(err.message)
      );
    });

    test('unknown NKey cannot connect', async () => {
      const stranger = nkeys.createUser().getSeed();
      await assert.rejects(
        connectNats({
          servers: [server.url],
          name: 'stranger',
          identity: 'stranger',
          tls: clientTls,
          credentials: { kind: 'nkey', seed: stranger },
        }),
        (err: unknown) =>
          err instanceof ConnectError &&
          /authorization violation/i.test(err.message) &&
          err.message.includes("'stranger'")
      );
    });

    test('client without a certificate cannot connect', async () => {
      await assert.rejects(
        connectAs('worker-0', { caFile }),
        (err: unknown) =>
          err instanceof ConnectError &&
          err.message.includes("accepts the client certificate of identity 'worker-0'")
      );
    });

    test('certificate from another CA cannot connect', async () => {
      const other = createTestAuthority(dir, 'other-ca');
      const client = other.issue('client', 'clientAuth');
      await assert.rejects(
        connectAs('worker-0', { caFile, certFile: client.certFile, keyFile: client.keyFile }),
        (err: unknown) =>
          err instanceof ConnectError &&
          err.message.includes("accepts the client certificate of identity 'worker-0'")
      );
      // A client that trusts only the other CA rejects the server's certificate.
      await assert.rejects(
        connectAs('worker-0', {
          caFile: other.certFile,
          certFile: clientTls.certFile!,
          keyFile: clientTls.keyFile!,
        }),
        (err: unknown) => err instanceof ConnectError && /certificate|TLS/i.test(err.message)
      );
    });

    test('client certificate optional without verify', async () => {
      const config = join(dir, 'tls-only.conf');
      writeServerConfig(config, serverCert, caFile, false, 'generated/nats-auth.conf');
      const tlsOnly = await LocalNatsServer.start({ args: ['-c', config] });
      try {
        const nc = await connectAs('worker-0', { caFile }, tlsOnly);
        assert.equal(nc.info?.tls_required, true);
        await nc.close();
      } finally {
        await tlsOnly.stop();
      }
    });

    describe('subject permissions', () => {
      let aggregator: NatsConnection;
      let worker3: NatsConnection;
      let operator: NatsConnection;
      let assets: JetStreamAssets;
      const object = `${JOB}/v1`;
      const weights = new Uint8Array(200_000).map((_, i) => i % 251);

      before(async () => {
        aggregator = await connectAs(AGGREGATOR_IDENTITY.name);
        worker3 = await connectAs(workerIdentity(3).name);
        operator = await connectAs(OPERATOR_IDENTITY.name);
        assets = await provisionAssets(aggregator);
        await ensureAggregatorConsumer(assets.jsm, JOB, { ackWaitMs: 30_000, maxAckPending: 100 });
        await putSnapshot(assets.snapshots, object, weights);
        await assets.modelKv.put(`${JOB}.latest`, new TextEncoder().encode('manifest'));
      });

      test('worker uses its permitted paths', async () => {
        const workerAssets = await openAssets(worker3);
        const lease = await claimRank(
          workerAssets.workerKv,
          JOB,
          3,
          { workerId: 'sec-3', incarnation: 'feedface', host: 'test', pid: 1 },
          { heartbeatMs: 1_000, expireMs: 5_000 }
        );
        await lease.release();

        const watch = await workerAssets.modelKv.watch({ key: `${JOB}.latest` });
        let manifest = '';
        for await (const entry of watch) {
          manifest = new TextDecoder().decode(entry.value);
          break;
        }
        assert.equal(manifest, 'manifest');

        const blob = await workerAssets.snapshots.getBlob(object);
        assert.deepEqual(blob, weights);

        const ack = await publishUpdate(
          jetstream(worker3),
          updateSubject(JOB, 3),
          'sec.3.feedface.1',
          update(3, 1),
          {
            maxPayload: worker3.info?.max_payload ?? 1 << 20,
            identity: 'worker-3',
          }
        );
        assert.equal(ack.messages, 1);
      });

      test('aggregator consumes through its durable', async () => {
        await publishUpdate(
          jetstream(worker3),
          updateSubject(JOB, 3),
          'sec.3.feedface.2',
          update(3, 2),
          {
            maxPayload: worker3.info?.max_payload ?? 1 << 20,
            identity: 'worker-3',
          }
        );
        const consumer = await jetstream(aggregator).consumers.get(UPDATE_STREAM, `agg-${JOB}`);
        const msg = await consumer.next({ expires: 5_000 });
        assert.ok(msg, 'no update was delivered to the aggregator');
        assert.equal(msg.subject, updateSubject(JOB, 3));
        msg.ack();
      });

      test('operator reads streams and buckets', async () => {
        const consumer = await jetstream(operator).consumers.get(UPDATE_STREAM, {
          filter_subjects: updateSubject(JOB, 3),
        });
        const msg = await consumer.next({ expires: 5_000 });
        assert.ok(msg, 'the operator read no update');
        assert.equal(msg.subject, updateSubject(JOB, 3));
        assert.equal(await subscribeOutcome(operator, '>'), undefined);
      });

      test('rank 3 cannot publish as rank 4', async () => {
        const denied = await assertDenied(
          () =>
            publishUpdate(
              jetstream(worker3),
              updateSubject(JOB, 4),
              'sec.4.feedface.1',
              update(4, 1),
              {
                maxPayload: 1 << 20,
                identity: 'worker-3',
              }
            ),
          'worker-3',
          updateSubject(JOB, 4)
        );
        assert.ok(denied instanceof PermissionDeniedError);
        assert.equal(denied.operation, 'publish');
        await assert.rejects(
          apiRequest(operator, `$JS.API.STREAM.MSG.GET.${UPDATE_STREAM}`, {
            last_by_subj: updateSubject(JOB, 4),
          }).then((reply) => {
            const body = JSON.parse(new TextDecoder().decode((reply as { data: Uint8Array }).data));
            if (body.error) throw new Error(body.error.description);
          }),
          /no message found/,
          'a message on rank 4 was stored'
        );
      });

      test('rank 3 cannot read the update stream', async () => {
        const identity = 'worker-3';
        const api = '$JS.API';
        await assertDenied(
          () => apiRequest(worker3, `${api}.STREAM.INFO.${UPDATE_STREAM}`, {}),
          identity,
          `${api}.STREAM.INFO.${UPDATE_STREAM}`
        );
        await assertDenied(
          () => apiRequest(worker3, `${api}.STREAM.MSG.GET.${UPDATE_STREAM}`, { seq: 1 }),
          identity,
          `${api}.STREAM.MSG.GET.${UPDATE_STREAM}`
        );
        const create = `${api}.CONSUMER.CREATE.${UPDATE_STREAM}.spy.${updateSubject(JOB, 4)}`;
        await assertDenied(
          () =>
            apiRequest(worker3, create, {
              stream_name: UPDATE_STREAM,
              config: { name: 'spy', filter_subject: updateSubject(JOB, 4), ack_policy: 'none' },
            }),
          identity,
          create
        );
        const pull = `${api}.CONSUMER.MSG.NEXT.${UPDATE_STREAM}.agg-${JOB}`;
        await assertDenied(() => apiRequest(worker3, pull, { batch: 1 }), identity, pull);
        await assertDenied(
          () =>
            jetstream(worker3).consumers.get(UPDATE_STREAM, {
              filter_subjects: updateSubject(JOB, 4),
            }),
          identity,
          `${api}.STREAM.INFO.${UPDATE_STREAM}`
        );
      });

      test('consumer filter must match the subject', async () => {
        // The permission names the filter in the create subject; the server checks the body.
        const create = `$JS.API.CONSUMER.CREATE.KV_fl-model.spy.$KV.fl-model.${JOB}.latest`;
        const reply = await worker3.request(
          create,
          JSON.stringify({
            stream_name: 'KV_fl-model',
            config: {
              name: 'spy',
              filter_subject: '$KV.fl-model.>',
              ack_policy: 'none',
              deliver_subject: `_INBOX_${JOB}.worker-3.spy`,
            },
          }),
          { timeout: 2_000 }
        );
        const body = JSON.parse(new TextDecoder().decode(reply.data));
        assert.match(body.error?.description ?? '', /did not match filtered subject/);
      });

      test('rank 3 cannot subscribe to updates', async () => {
        for (const subject of [updateSubject(JOB, 4), `fl.${JOB}.update.*`, 'fl.>']) {
          await assertDenied(
            async () => {
              const outcome = await subscribeOutcome(worker3, subject);
              if (outcome) throw outcome;
            },
            'worker-3',
            subject
          );
        }
      });

      test('no identity may subscribe to _INBOX.>', async () => {
        for (const [nc, identity] of [
          [worker3, 'worker-3'],
          [aggregator, 'aggregator'],
        ] as const) {
          await assertDenied(
            async () => {
              const outcome = await subscribeOutcome(nc, '_INBOX.>');
              if (outcome) throw outcome;
            },
            identity,
            '_INBOX.>'
          );
        }
        // Nor the aggregator's own prefix, where its pull deliveries arrive.
        const aggregatorInbox = `_INBOX_${JOB}.aggregator.>`;
        await assertDenied(
          async () => {
            const outcome = await subscribeOutcome(worker3, aggregatorInbox);
            if (outcome) throw outcome;
          },
          'worker-3',
          aggregatorInbox
        );
      });

      test('rank 3 cannot write the model', async () => {
        const workerAssets = await openAssets(worker3);
        await assertDenied(
          () => workerAssets.modelKv.put(`${JOB}.latest`, new TextEncoder().encode('forged')),
          'worker-3',
          `$KV.fl-model.${JOB}.latest`
        );
        const outcome = await workerAssets.snapshots
          .putBlob({ name: `${JOB}/v99` }, new Uint8Array([1, 2, 3]))
          .then(
            () => undefined,
            (err: unknown) => err
          );
        const denied = permissionDenied(outcome, 'worker-3');
        assert.ok(denied, `expected a permission violation, got ${String(outcome)}`);
        assert.ok(denied.message.includes("'worker-3'"));
        assert.equal(await assets.snapshots.info(`${JOB}/v99`), null);
        const latest = await assets.modelKv.get(`${JOB}.latest`);
        assert.equal(new TextDecoder().decode(latest?.value), 'manifest');
      });

      test('rank 3 cannot claim rank 4', async () => {
        const workerAssets = await openAssets(worker3);
        await assertDenied(
          () =>
            claimRank(
              workerAssets.workerKv,
              JOB,
              4,
              { workerId: 'sec-3', incarnation: 'feedface', host: 'test', pid: 1 },
              { heartbeatMs: 1_000, expireMs: 5_000 }
            ),
          'worker-3',
          `$JS.API.DIRECT.GET.KV_fl-workers.$KV.fl-workers.${JOB}.4`
        );
        await assertDenied(
          () => workerAssets.workerKv.put(`${JOB}.4`, new Uint8Array([1])),
          'worker-3',
          `$KV.fl-workers.${JOB}.4`
        );
      });

      test('operator writes nothing', async () => {
        await assertDenied(
          () => apiRequest(operator, `$KV.fl-model.${JOB}.latest`, {}),
          'operator',
          `$KV.fl-model.${JOB}.latest`
        );
        const pull = `$JS.API.CONSUMER.MSG.NEXT.${UPDATE_STREAM}.agg-${JOB}`;
        await assertDenied(() => apiRequest(operator, pull, { batch: 1 }), 'operator', pull);
        await assertDenied(
          () => apiRequest(operator, `$JS.API.STREAM.DELETE.${UPDATE_STREAM}`, {}),
          'operator',
          `$JS.API.STREAM.DELETE.${UPDATE_STREAM}`
        );
      });

      test('worker needs no stream-management rights', async () => {
        await assertDenied(
          () => provisionAssets(worker3),
          'worker-3',
          `$JS.API.STREAM.INFO.${UPDATE_STREAM}`
        );
      });
    });

    test('full run logs no secrets', async () => {
      // A fresh server: the aggregator authenticates with a password, the workers with NKeys.
      const password = `pw-${Buffer.from(nkeys.createUser().getPublicKey()).toString('hex').slice(0, 32)}`;
      const seeds = ['worker-0', 'worker-1'].map((identity) =>
        readFileSync(seedFile(identity), 'utf8').trim()
      );
      const workerUsers = seeds.map((seed, rank) => ({
        identity: workerIdentity(rank),
        nkey: nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey(),
      }));
      const authorization = join(dir, 'run-auth.conf');
      writeFileSync(
        authorization,
        renderAuthorizationConfig(JOB, [
          { identity: AGGREGATOR_IDENTITY, user: 'aggregator', password },
          ...workerUsers,
        ])
      );
      const config = join(dir, 'run.conf');
      writeServerConfig(config, serverCert, caFile, true, 'run-auth.conf');
      const runServer = await LocalNatsServer.start({ args: ['-c', config] });
      try {
        const tlsArgs = [
          '--nats-tls-ca',
          caFile,
          '--nats-tls-cert',
          clientTls.certFile!,
          '--nats-tls-key',
          clientTls.keyFile!,
        ];
        const common = ['--nats', runServer.url, '--job', JOB, ...tlsArgs];
        const env = { LOG_LEVEL: 'debug' };
        const workers = startService(
          'worker',
          [
            ...common,
            '--rank',
            '0',
            '--count',
            '2',
            '--world',
            '2',
            '--id',
            'sec',
            '--nats-nkey-file',
            join(generated, 'nkeys', 'worker-{rank}.nk'),
          ],
          env
        );
        const aggregatorProcess = startService(
          'aggregator',
          [
            ...common,
            '--nats-user',
            'aggregator',
            '--target-accuracy',
            '0',
            '--time-budget-s',
            '8',
            '--http-port',
            '0',
            '--report',
            join(dir, 'run-report.json'),
          ],
          { ...env, NATS_PASSWORD: password }
        );
        const aggregatorCode = await aggregatorProcess.exited;
        const workerCode = await Promise.race([
          workers.exited,
          new Promise<number>((resolve) => setTimeout(() => resolve(-1), 30_000)),
        ]);
        workers.kill();
        const logs = aggregatorProcess.output + workers.output;
        assert.equal(
          aggregatorCode,
          0,
          `aggregator failed:\n${aggregatorProcess.output.slice(-4000)}`
        );
        assert.equal(workerCode, 0, `workers failed:\n${workers.output.slice(-4000)}`);

        const report = JSON.parse(readFileSync(join(dir, 'run-report.json'), 'utf8'));
        assert.ok(report.updatesApplied > 0, 'no update was applied');
        assert.match(aggregatorProcess.output, /"auth":"password","tls":true/);
        assert.equal(workers.output.match(/"auth":"nkey","tls":true/g)?.length, 2);
        assert.ok(!/Permissions Violation|PermissionDenied/i.test(logs), 'a permission was denied');

        assert.ok(!logs.includes(password), 'the password is in the log');
        for (const seed of seeds) assert.ok(!logs.includes(seed), 'an NKey seed is in the log');
        // A 24-character piece of each seed also catches a seed that was cut or wrapped.
        for (const seed of seeds)
          assert.ok(!logs.includes(seed.slice(2, 26)), 'part of a seed is in the log');
      } finally {
        await runServer.stop();
      }
    });
  }
);

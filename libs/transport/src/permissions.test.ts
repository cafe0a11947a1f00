import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PermissionViolationError } from '@nats-io/nats-core';
import { PermissionDeniedError, ProvisionError } from './errors';
import {
  AGGREGATOR_IDENTITY,
  aggregatorPermissions,
  inboxPrefixFor,
  jobIdentities,
  operatorPermissions,
  permissionDenied,
  renderAuthorizationConfig,
  workerIdentity,
  workerPermissions,
} from './permissions';

test('worker publishes only its own rank', () => {
  const { publish, subscribe } = workerPermissions('job', 3);
  assert.ok(publish.allow.includes('fl.job.update.3'));
  const updateRules = publish.allow.filter((subject) => subject.startsWith('fl.'));
  assert.deepEqual(updateRules, ['fl.job.update.3']);
  assert.ok(publish.allow.includes('$KV.fl-workers.job.3'));
  assert.ok(!publish.allow.some((subject) => subject.startsWith('$KV.fl-model')));
  assert.ok(!publish.allow.some((subject) => subject.includes('FL_UPDATES')));
  assert.ok(
    !publish.allow.some((subject) => subject.includes('>') && !subject.startsWith('$JS.FC.'))
  );
  assert.deepEqual(subscribe.allow, ['_INBOX_job.worker-3.>']);
});

test('aggregator is limited to its job', () => {
  const { publish, subscribe } = aggregatorPermissions('job');
  assert.ok(publish.allow.includes('$JS.API.CONSUMER.MSG.NEXT.FL_UPDATES.agg-job'));
  assert.ok(publish.allow.includes('$KV.fl-model.job.latest'));
  assert.ok(!publish.allow.some((subject) => subject.startsWith('fl.')));
  assert.equal(new Set(publish.allow).size, publish.allow.length);
  assert.deepEqual(subscribe.allow, ['_INBOX_job.aggregator.>']);
});

test('operator cannot touch the durable', () => {
  const { publish, subscribe } = operatorPermissions('job');
  assert.ok(publish.deny.includes('$JS.API.CONSUMER.MSG.NEXT.FL_UPDATES.agg-job'));
  assert.ok(
    !publish.allow.some((subject) => subject.startsWith('$KV.') || subject.startsWith('$O.'))
  );
  assert.ok(!publish.allow.some((subject) => subject.startsWith('$JS.ACK')));
  assert.deepEqual(subscribe.allow, ['>']);
});

test('identities of a job', () => {
  const names = jobIdentities(3).map((identity) => identity.name);
  assert.deepEqual(names, ['aggregator', 'operator', 'worker-0', 'worker-1', 'worker-2']);
  assert.throws(() => jobIdentities(0), RangeError);
  assert.throws(() => workerIdentity(-1), RangeError);
});

test('inbox prefix rejects wildcards', () => {
  assert.equal(inboxPrefixFor('job', 'worker-1'), '_INBOX_job.worker-1');
  assert.throws(() => inboxPrefixFor('job', 'worker.>'), RangeError);
  assert.throws(() => inboxPrefixFor('job.*', 'worker-1'));
});

test('authorization config quotes subjects', () => {
  const nkey = `U${'A'.repeat(55)}`;
  const config = renderAuthorizationConfig('job', [{ identity: AGGREGATOR_IDENTITY, nkey }]);
  assert.ok(config.includes(`nkey: "${nkey}"`));
  assert.ok(config.includes('"$JS.API.INFO"'));
  assert.ok(!/^\s*\$JS/m.test(config), 'an unquoted $ subject would be read as a variable');
  assert.throws(
    () => renderAuthorizationConfig('job', [{ identity: AGGREGATOR_IDENTITY, nkey: 'SUABC' }]),
    /not a user public NKey/
  );
});

test('permission violation gets the identity', () => {
  const violation = new PermissionViolationError(
    'Permissions Violation for Publish to "fl.job.update.4"',
    'publish',
    'fl.job.update.4'
  );
  const wrapped = new ProvisionError('cannot publish', { cause: violation });
  const denied = permissionDenied(wrapped, 'worker-3');
  assert.ok(denied instanceof PermissionDeniedError);
  assert.equal(denied.code, 'FL_TRANSPORT_PERMISSION_DENIED');
  assert.equal(denied.identity, 'worker-3');
  assert.equal(denied.subject, 'fl.job.update.4');
  assert.equal(denied.operation, 'publish');
  assert.match(denied.message, /'worker-3'.*"fl\.job\.update\.4"/);
  assert.equal(permissionDenied(new Error('timeout'), 'worker-3'), undefined);
});

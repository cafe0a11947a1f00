import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregatorSchema, workerSchema } from '../libs/config/src/schemas';
import { renderReference, settingsTable } from './config-reference';

interface Setting {
  env?: string;
  arg?: string;
}

function settingsOf(schema: object): Setting[] {
  return Object.values(schema).flatMap((value: object) =>
    'doc' in value ? [value as Setting] : settingsOf(value)
  );
}

test('reference lists every variable and flag', () => {
  const text = renderReference();
  for (const setting of [...settingsOf(aggregatorSchema()), ...settingsOf(workerSchema())]) {
    assert.ok(setting.env, 'a setting has no environment variable');
    assert.ok(text.includes(`\`${setting.env}\``), `${setting.env} is missing`);
    assert.ok(text.includes(`\`--${setting.arg}\``), `--${setting.arg} is missing`);
  }
});

test('reference row shows default and values', () => {
  const row = renderReference()
    .split('\n')
    .find((line) => line.startsWith('| `http.port` |'));
  assert.equal(
    row,
    '| `http.port` | `FL_HTTP_PORT` | `--http-port` | `9464` | port, 0 to 65535 | Port of the HTTP server; 0 picks a free port, which the aggregator logs |'
  );
});

test('table cells escape pipes and tags', () => {
  const table = settingsTable({
    odd: {
      doc: 'a | b for <job>',
      format: ['x', 'y'],
      default: ['p', 'q'],
      env: 'ODD',
      arg: 'odd',
    },
    secret: { doc: 'Token', format: String, default: '', sensitive: true, env: 'TOKEN' },
  });
  const [, , odd, secret] = table.split('\n');
  assert.equal(odd, '| `odd` | `ODD` | `--odd` | `p,q` | one of `x`, `y` | a \\| b for &lt;job> |');
  assert.equal(secret, '| `secret` | `TOKEN` |  | (empty) | string | Token. Sensitive value |');
});

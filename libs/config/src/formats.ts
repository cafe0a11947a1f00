import convict from 'convict';

/** Reads a comma-separated list from a flag or variable, or an array from a file. */
function toList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return String(value)
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

let registered = false;

/** Registers the project's custom convict formats once per process. */
export function registerFormats(): void {
  if (registered) return;
  registered = true;
  convict.addFormat({
    name: 'nats-servers',
    coerce: toList,
    validate(value: unknown) {
      const list = toList(value);
      if (list.length === 0) throw new Error('must name at least one server URL');
      for (const url of list) {
        if (!/^(nats|tls|ws|wss):\/\/[^\s/]+(:\d+)?\/?$/.test(url) && !/^[^\s/:]+:\d+$/.test(url)) {
          throw new Error(`must be URLs like nats://host:4222 (got ${JSON.stringify(url)})`);
        }
      }
    },
  });
  convict.addFormat({
    name: 'int-list',
    coerce: (value: unknown) => toList(value).map(Number),
    validate(value: unknown) {
      const list = Array.isArray(value) ? value : toList(value).map(Number);
      if (list.length === 0 || list.some((n) => !Number.isSafeInteger(n) || n < 1)) {
        throw new Error(
          `must be a comma-separated list of integers >= 1 (got ${JSON.stringify(value)})`
        );
      }
    },
  });
  convict.addFormat({
    name: 'positive-number',
    coerce: Number,
    validate(value: unknown) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new Error(`must be a finite number > 0 (got ${JSON.stringify(value)})`);
      }
    },
  });
  convict.addFormat({
    name: 'non-negative-number',
    coerce: Number,
    validate(value: unknown) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new Error(`must be a finite number >= 0 (got ${JSON.stringify(value)})`);
      }
    },
  });
  convict.addFormat({
    name: 'unit-interval',
    coerce: Number,
    validate(value: unknown) {
      if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
        throw new Error(`must be a number in (0, 1] (got ${JSON.stringify(value)})`);
      }
    },
  });
  convict.addFormat({
    name: 'job-name',
    validate(value: unknown) {
      if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
        throw new Error(
          `must be 1 to 64 letters, digits, '_' or '-' (got ${JSON.stringify(value)})`
        );
      }
    },
  });
}

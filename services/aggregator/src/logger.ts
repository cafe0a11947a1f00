import pino, { type Logger } from 'pino';
import type { LogLevel } from '@asyncfl/config';

/** Creates the service's root logger: JSON lines on stdout, errors serialized under `err`. */
export function createLogger(
  service: string,
  level: LogLevel,
  bindings: Record<string, unknown> = {}
): Logger {
  return pino({ name: service, level, base: { service, pid: process.pid, ...bindings } });
}

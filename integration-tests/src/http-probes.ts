// Helpers for suites that read the aggregator's HTTP endpoints.
import type { ServiceProcess } from './harness';

/**
 * Polls `probe` until it returns a value other than undefined and returns that value.
 * Throws after `timeoutMs`, naming `description` and the last error the probe threw.
 */
export async function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 250
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Returns the HTTP base URL an aggregator logged when it started listening, if it has. */
export function httpUrlOf(service: ServiceProcess): string | undefined {
  const line = service.logLines().find((l) => l.msg === 'HTTP server listening');
  return typeof line?.url === 'string' ? line.url : undefined;
}

/** Waits until the aggregator logs its HTTP URL; fails early when the process exits. */
export async function waitForHttpUrl(service: ServiceProcess, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    'the aggregator to log its HTTP URL',
    () => {
      if (service.child.exitCode !== null) {
        throw new Error(`aggregator exited early:\n${service.output.slice(-3000)}`);
      }
      return httpUrlOf(service);
    },
    timeoutMs
  );
}

/**
 * Parses the Prometheus text format into a map from sample (name with its label set, as
 * written) to value. Comment lines are skipped.
 */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** Fetches and parses `/metrics`. */
export async function scrape(baseUrl: string): Promise<Map<string, number>> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics returned HTTP ${response.status}`);
  return parseMetrics(await response.text());
}

/** Fetches a JSON endpoint and returns its HTTP status with the parsed body. */
export async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

/** Returns every sample of a metric whose labels include `label="..."`, keyed by that value. */
export function samplesByLabel(
  samples: Map<string, number>,
  metric: string,
  label: string
): Map<string, number> {
  const found = new Map<string, number>();
  const pattern = new RegExp(`^${metric}\\{(?:.*,)?${label}="([^"]*)"`);
  for (const [key, value] of samples) {
    const match = pattern.exec(key);
    if (match) found.set(match[1]!, value);
  }
  return found;
}

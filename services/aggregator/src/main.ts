import { ConfigError, aggregatorHelp, loadAggregatorConfig } from '@asyncfl/config';
import { redactServerUrls } from '@asyncfl/transport';
import { Aggregator } from './aggregator';
import { AggregatorHttpServer } from './http';
import { createLogger } from './logger';
import { AggregatorMetrics } from './metrics';

/** Time allowed between a stop request and exit, in milliseconds; below Kubernetes' 60 s grace. */
const SHUTDOWN_GRACE_MS = 45_000;

async function main(): Promise<number> {
  if (process.argv.includes('--help')) {
    console.log(`Usage: aggregator [flags]\n\n${aggregatorHelp()}`);
    return 0;
  }
  let config;
  try {
    config = loadAggregatorConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`aggregator: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const log = createLogger('aggregator', config.logLevel, { job: config.job });
  const metrics = new AggregatorMetrics({ job: config.job });
  const aggregator = new Aggregator(config, log, metrics);
  metrics.bind(() => aggregator.status());
  let http: AggregatorHttpServer | undefined;
  let stopRequested = false;
  const requestStop = (cause: string) => {
    if (stopRequested) {
      log.warn({ cause }, 'second stop request; exiting without a final snapshot');
      process.exit(1);
    }
    stopRequested = true;
    log.info({ cause, graceMs: SHUTDOWN_GRACE_MS }, 'stop requested; writing the final snapshot');
    aggregator.stop('signal');
    // A final snapshot needs NATS; without it the process must still end within the grace period.
    setTimeout(() => {
      log.error(
        { graceMs: SHUTDOWN_GRACE_MS },
        'final snapshot not stored within the grace period; exiting'
      );
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on('SIGINT', () => requestStop('SIGINT'));
  process.on('SIGTERM', () => requestStop('SIGTERM'));
  // Started by a supervisor with an IPC channel (the local cluster): stop when it goes away.
  if (process.send) process.on('disconnect', () => requestStop('parent exited'));
  // The listener keeps the channel referenced; unreference it so it never delays exit.
  process.channel?.unref();
  try {
    log.info(
      { rule: config.rule.kind, servers: redactServerUrls(config.nats.servers) },
      'aggregator starting'
    );
    // Listening first lets liveness probes pass while the model and data load.
    http = await AggregatorHttpServer.start({
      host: config.http.host,
      port: config.http.port,
      source: aggregator,
      metrics,
      log,
    });
    log.info({ url: http.url, port: http.port }, 'HTTP server listening');
    await aggregator.start();
    const report = await aggregator.run();
    log.info(
      {
        version: report.versions,
        top1: report.final?.top1,
        stopReason: report.stopReason,
        applied: report.updatesApplied,
        rejected: report.updatesRejected,
      },
      'aggregator stopped'
    );
    return 0;
  } catch (err) {
    log.error({ err }, 'aggregator failed');
    return 1;
  } finally {
    await aggregator.close();
    await http?.close();
  }
}

process.exitCode = await main();

import { ConfigError, aggregatorHelp, loadAggregatorConfig } from '@asyncfl/config';
import { Aggregator } from './aggregator';
import { createLogger } from './logger';

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
  const aggregator = new Aggregator(config, log);
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stop requested; writing the final snapshot');
    aggregator.stop('signal');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log.info({ rule: config.rule.kind, servers: config.nats.servers }, 'aggregator starting');
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
  }
}

process.exitCode = await main();

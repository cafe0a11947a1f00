export { Aggregator, ruleConfigOf } from './aggregator';
export type { StopReason } from './aggregator';
export { MessageLedger } from './ledger';
export { SERVICE_REJECT_REASONS, ALL_REJECT_REASONS } from './reasons';
export { buildReport, writeReport } from './report';
export type { RunReport, ReportInputs } from './report';
export { createLogger } from './logger';

export { Worker } from './worker';
export type { WorkerExit } from './worker';

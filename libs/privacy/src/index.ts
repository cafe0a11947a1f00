export { DEFAULT_ORDERS, RdpAccountant } from './accountant';
export type { AccountantOptions, AccountantState } from './accountant';
export { RDP_CONVERSIONS, epsilonFromRdp, validateDelta } from './conversion';
export type { PrivacySpent, RdpConversion } from './conversion';
export { InvalidPrivacyParameterError, PrivacyError } from './errors';
export { createSecureGaussianNoise, createSeededGaussianNoise } from './noise';
export type { GaussianNoise } from './noise';
export { sampledGaussianRdp, sampledGaussianRdpAt } from './rdp';

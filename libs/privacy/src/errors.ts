/** Base class of this library's errors. */
export class PrivacyError extends Error {
  readonly code: string = 'FL_PRIVACY_ERROR';
}

/** A privacy parameter (noise multiplier, sampling rate, order, delta, budget) out of range. */
export class InvalidPrivacyParameterError extends PrivacyError {
  override readonly code = 'FL_PRIVACY_INVALID_PARAMETER';
  readonly parameter: string;
  readonly value: unknown;
  readonly expected: string;

  constructor(parameter: string, value: unknown, expected: string, options?: ErrorOptions) {
    super(`invalid ${parameter}: expected ${expected}, got ${String(value)}`, options);
    this.name = 'InvalidPrivacyParameterError';
    this.parameter = parameter;
    this.value = value;
    this.expected = expected;
  }
}

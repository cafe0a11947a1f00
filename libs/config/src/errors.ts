/** A configuration value that is missing, malformed or contradicts another. */
export class ConfigError extends Error {
  readonly code = 'FL_CONFIG_INVALID';
  /** Every problem found, one line each, naming the key, flag or variable and the value. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`, options);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

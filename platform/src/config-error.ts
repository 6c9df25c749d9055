/**
 * Thrown by a service's configuration reader when the environment does not make a valid
 * configuration; lists every problem, one per line, so an operator fixes them all at once.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

import { resolve } from "node:path";
import { callerFolder } from "./caller-folder.js";
import { readSecret } from "./secrets.js";

const decimal = /^-?\d+(\.\d+)?$/;

/** e.g. "0s", "30m", "24h", for a duration's bounds. */
function describeMs(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/**
 * Reads a service's environment, collecting every problem instead of stopping at the first, so
 * a bad start-up names all the variables to fix at once. Empty values count as unset.
 */
export class EnvReader {
  /** What is wrong, one line per variable, e.g. `API_PORT: must be ...`. */
  readonly problems: string[] = [];

  /** Folder relative paths are resolved against: the caller's (see callerFolder). */
  readonly base: string;

  /**
   * @param env the environment to read
   * @param cwd the working folder; default the process's. Relative paths resolve against
   *   callerFolder(env, cwd).
   */
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    cwd: string = process.cwd(),
  ) {
    this.base = callerFolder(env, cwd);
  }

  /** The trimmed value, or `fallback` when unset. */
  text(name: string, fallback: string): string {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? fallback : value;
  }

  /**
   * A file or folder path, absolute: a relative one (or `fallback`) is taken from the folder the
   * command was run in, the same rule in both services.
   */
  path(name: string, fallback: string): string {
    return resolve(this.base, this.text(name, fallback));
  }

  /** Like path, but undefined when unset. */
  optionalPath(name: string): string | undefined {
    const value = this.text(name, "");
    return value === "" ? undefined : resolve(this.base, value);
  }

  /** One of `choices`, or `fallback` when unset. */
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.text(name, fallback);
    if ((choices as readonly string[]).includes(value)) return value as T;
    const allowed = `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
    this.problems.push(`${name}: must be ${allowed}, got "${value}"`);
    return fallback;
  }

  /** A number in [min, max], or `fallback` when unset. */
  number(name: string, fallback: number, min: number, max: number): number {
    return this.parse(name, fallback, min, max, "a number", Number.isFinite);
  }

  /** A whole number in [min, max], or `fallback` when unset. */
  integer(name: string, fallback: number, min: number, max: number): number {
    return this.parse(name, fallback, min, max, "a whole number", Number.isInteger);
  }

  /**
   * A duration in ms within [minMs, maxMs], or `fallbackMs` when unset: a whole number with a
   * unit, `s`, `m` or `h` ("90s", "30m", "2h"), or a plain whole number of seconds ("0" too).
   */
  duration(name: string, fallbackMs: number, minMs: number, maxMs: number): number {
    const raw = this.text(name, "");
    if (raw === "") return fallbackMs;
    const match = /^(\d+)(s|m|h)?$/.exec(raw);
    const unitMs = { s: 1000, m: 60_000, h: 3_600_000 }[match?.[2] ?? "s"]!;
    const value = match ? Number(match[1]) * unitMs : NaN;
    if (!(value >= minMs && value <= maxMs)) {
      this.problems.push(
        `${name}: must be a duration such as 90s, 30m or 2h (a plain number is seconds) between ` +
          `${describeMs(minMs)} and ${describeMs(maxMs)}, got "${raw}"`,
      );
      return fallbackMs;
    }
    return value;
  }

  /** Comma-separated values, trimmed, empty ones dropped. */
  list(name: string): string[] {
    return this.text(name, "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /**
   * Comma-separated secrets from NAME or NAME_FILE, trimmed, empty ones dropped. Set but holding
   * no value at all (" , ," or an empty file) is a problem, never "none configured": it must
   * not silently turn off what the secrets protect.
   */
  secretList(name: string): string[] {
    const raw = this.secret(name);
    if (raw === undefined) {
      if (this.isSet(name) || this.isSet(`${name}_FILE`)) {
        this.problems.push(`${name}: is set but holds no value; unset it or give at least one`);
      }
      return [];
    }
    const values = raw
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (values.length === 0) {
      this.problems.push(`${name}: is set but holds no value; unset it or give at least one`);
    }
    return values;
  }

  private isSet(name: string): boolean {
    return this.env[name] !== undefined && this.env[name] !== "";
  }

  /** A secret from NAME or the file named by NAME_FILE; undefined when neither is set. */
  secret(name: string): string | undefined {
    try {
      return readSecret(this.env, name, this.base);
    } catch (err) {
      this.problems.push((err as Error).message);
      return undefined;
    }
  }

  private parse(
    name: string,
    fallback: number,
    min: number,
    max: number,
    kind: string,
    valid: (value: number) => boolean,
  ): number {
    const raw = this.text(name, "");
    if (raw === "") return fallback;
    // Plain decimal only: Number() would also take 0x46AE, 1.807e4, 0b1 or " 1 ".
    const value = decimal.test(raw) ? Number(raw) : NaN;
    if (!valid(value) || value < min || value > max) {
      this.problems.push(`${name}: must be ${kind} between ${min} and ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }
}

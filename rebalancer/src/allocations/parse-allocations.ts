import { AllocationError } from "./allocation-error.js";
import type { AllocationTarget, Allocations } from "./allocations.js";

/** Weights may sum above 1 by this much (provider rounding); a shortfall below 1 stays in cash. */
export const weightSumTolerance = 0.005;

/** Options of parseAllocations. */
export interface ParseAllocationsOptions {
  /** The account's strategy; the result carries it. */
  strategy: string;
  /** Names the source at the start of every message, e.g. "allocation API https://host/path". */
  source: string;
  /** Refuse a document whose `name` is not the strategy (a URL pointing at the wrong strategy); default true. */
  checkName?: boolean;
}

const symbolPattern = /^[A-Z0-9][A-Z0-9./ -]*$/;

/**
 * Validates a parsed allocation document: the API's envelope
 * `{status: "success", data: {allocations: [{symbol, allocation}], name, as_of}}` or the bare
 * `{name, as_of, allocations}` of a file. Throws an "invalid" AllocationError naming every problem
 * with its path, e.g. `data.allocations[2].allocation: must be between 0 and 1, got 1.2`.
 */
export function parseAllocations(doc: unknown, options: ParseAllocationsOptions): Allocations {
  const { strategy, source } = options;
  if (!isRecord(doc)) {
    throw invalid(`${source}: expected an object with "allocations", got ${describe(doc)}`);
  }
  if ("status" in doc && doc.status !== "success") {
    const said = providerMessage(doc);
    throw invalid(
      `${source}: status is ${JSON.stringify(doc.status)}, not "success"` +
        (said ? ` (the provider says: ${said})` : ""),
    );
  }
  let body: Record<string, unknown> = doc;
  let prefix = "";
  if (!("allocations" in doc) && "data" in doc) {
    if (!isRecord(doc.data)) {
      throw invalid(
        `${source}: data: expected an object with "allocations", got ${describe(doc.data)}`,
      );
    }
    body = doc.data;
    prefix = "data.";
  }

  const problems: string[] = [];
  if (options.checkName !== false && typeof body.name === "string" && body.name.trim() !== "") {
    if (body.name.trim().toLowerCase() !== strategy.toLowerCase()) {
      problems.push(
        `${prefix}name: is "${body.name}" but the account's strategy is "${strategy}"; ` +
          "the source may publish another strategy",
      );
    }
  }
  const asOf = readAsOf(body, prefix, problems);
  const targets = readTargets(body.allocations, `${prefix}allocations`, problems);
  if (problems.length > 0) throw invalid(`${source}: ${problems.join("; ")}`);
  return { strategy, targets, asOf };
}

function readTargets(raw: unknown, path: string, problems: string[]): AllocationTarget[] {
  if (!Array.isArray(raw)) {
    problems.push(`${path}: required, a list of {symbol, allocation}, got ${describe(raw)}`);
    return [];
  }
  if (raw.length === 0) {
    problems.push(`${path}: empty; the source published no targets`);
    return [];
  }
  const before = problems.length;
  const seen = new Set<string>();
  const targets: AllocationTarget[] = [];
  raw.forEach((item, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(item)) {
      problems.push(`${at}: must be an object with symbol and allocation, got ${describe(item)}`);
      return;
    }
    const symbol = typeof item.symbol === "string" ? item.symbol.trim().toUpperCase() : "";
    if (!symbolPattern.test(symbol)) {
      problems.push(`${at}.symbol: must be a ticker symbol, got ${describe(item.symbol)}`);
    } else if (seen.has(symbol)) {
      problems.push(`${at}.symbol: ${symbol} appears more than once`);
    }
    seen.add(symbol);
    const weight = item.allocation;
    if (typeof weight !== "number" || !Number.isFinite(weight)) {
      problems.push(`${at}.allocation: must be a number between 0 and 1, got ${describe(weight)}`);
    } else if (weight < 0 || weight > 1) {
      problems.push(`${at}.allocation: must be between 0 and 1, got ${weight}`);
    } else {
      targets.push({ symbol, weight });
    }
  });
  if (problems.length > before) return [];
  const sum = targets.reduce((total, t) => total + t.weight, 0);
  if (sum > 1 + weightSumTolerance) {
    problems.push(
      `${path}: weights sum to ${round(sum)}, above 1 (tolerance ${weightSumTolerance})`,
    );
  }
  return targets;
}

function readAsOf(body: Record<string, unknown>, prefix: string, problems: string[]): string {
  const key = body.as_of !== undefined ? "as_of" : "last_rebalance_on";
  const value = body[key];
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value.trim();
  // A YAML 1.1 parser turns an unquoted date into a Date.
  if (value instanceof Date && !Number.isNaN(value.getTime())) {
    return value.toISOString().slice(0, 10);
  }
  problems.push(`${prefix}${key}: must be a date string, got ${describe(value)}`);
  return "";
}

function providerMessage(doc: Record<string, unknown>): string {
  const data = isRecord(doc.data) ? doc.data : {};
  const said = doc.message ?? doc.error ?? data.message ?? data.error;
  return typeof said === "string" ? truncate(said, 200) : "";
}

function invalid(message: string): AllocationError {
  return new AllocationError("invalid", message);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return truncate(JSON.stringify(value), 40);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

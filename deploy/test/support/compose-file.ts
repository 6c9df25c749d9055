import { readRepoFile, readYaml } from "./repo.js";

/** The parts of a Compose service these tests look at. */
export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  configs?: { source: string; target: string }[];
  secrets?: string[];
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  expose?: unknown[];
  network_mode?: string;
  /** A list of names, or per network its settings (aliases). */
  networks?: string[] | Record<string, { aliases?: string[] } | null>;
  restart?: string;
  healthcheck?: { test: string[]; interval?: string; start_period?: string };
  cap_drop?: string[];
  init?: boolean;
  read_only?: boolean;
  security_opt?: string[];
  stop_grace_period?: string;
  tmpfs?: string[];
}

/** A Compose file. */
export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  networks?: Record<string, unknown>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
  configs?: Record<string, { file: string }>;
}

/** Variables for interpolation, like a shell environment plus .env. */
export type Variables = Record<string, string | undefined>;

/** A Compose file as written, `${...}` not yet replaced. */
export function readComposeFile(path: string): ComposeFile {
  return readYaml<ComposeFile>(path);
}

/** A Compose file with every `${...}` replaced the way `docker compose` does it. */
export function loadComposeFile(path: string, variables: Variables): ComposeFile {
  return interpolateValues(readComposeFile(path), variables, path) as ComposeFile;
}

/** Reads a .env file: KEY=VALUE lines, comments and blank lines skipped, quotes removed. */
export function readEnvFile(path: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readRepoFile(path).split("\n")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (!match) continue;
    const raw = match[2]!.trim();
    const quoted = /^"(.*)"$/.exec(raw) ?? /^'(.*)'$/.exec(raw);
    values[match[1]!] = quoted ? quoted[1]! : raw;
  }
  return values;
}

/** Every variable name a Compose file interpolates. */
export function referencedVariables(path: string): Set<string> {
  const names = new Set<string>();
  const text = readRepoFile(path).replace(/\$\$/g, "");
  for (const match of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(match[1]!);
  return names;
}

/**
 * Compose interpolation of one string: `$$` is a literal `$`; `${NAME}`, `${NAME:-default}`,
 * `${NAME-default}`, `${NAME:?error}`, `${NAME?error}`, `${NAME:+other}` and `$NAME`.
 */
export function interpolate(text: string, variables: Variables, where = "value"): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced?: string, operator?: string, argument?: string, bare?: string) => {
      if (whole === "$$") return "$";
      const name = (braced ?? bare)!;
      const value = variables[name];
      const unsetOrEmpty = value === undefined || value === "";
      const missing = operator?.startsWith(":") ? unsetOrEmpty : value === undefined;
      switch (operator) {
        case ":-":
        case "-":
          return missing ? argument! : value!;
        case ":?":
        case "?":
          if (missing) throw new Error(`${where}: required variable ${name}: ${argument}`);
          return value!;
        case ":+":
        case "+":
          return missing ? "" : argument!;
        default:
          return value ?? "";
      }
    },
  );
}

function interpolateValues(value: unknown, variables: Variables, where: string): unknown {
  if (typeof value === "string") return interpolate(value, variables, where);
  if (Array.isArray(value)) return value.map((item) => interpolateValues(item, variables, where));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateValues(item, variables, where)]),
    );
  }
  return value;
}

/**
 * `docker compose -f base -f override`: the override's services and top-level entries merged
 * into the base's the way Compose merges the keys these files use. Mappings (environment,
 * depends_on, networks, volumes, secrets at the top level) merge key by key, the override's
 * value winning; lists of names (a service's secrets, tmpfs, cap_drop) become their union;
 * anything else is the override's.
 */
export function mergeComposeFiles(base: ComposeFile, override: ComposeFile): ComposeFile {
  return mergeValues(base, override) as ComposeFile;
}

function mergeValues(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (Array.isArray(base) && Array.isArray(override)) {
    const merged = [...base];
    for (const item of override) {
      if (!merged.some((known) => JSON.stringify(known) === JSON.stringify(item))) {
        merged.push(item);
      }
    }
    return merged;
  }
  if (isMapping(base) && isMapping(override)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override))
      merged[key] = mergeValues(base[key], value);
    return merged;
  }
  return override;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A service's networks by name, whichever form the file uses. */
export function networksOf(service: ComposeService): Record<string, { aliases?: string[] }> {
  const networks = service.networks ?? [];
  if (Array.isArray(networks)) return Object.fromEntries(networks.map((name) => [name, {}]));
  return Object.fromEntries(Object.entries(networks).map(([name, value]) => [name, value ?? {}]));
}

/** A service's environment as strings, the way the container sees it. */
export function environmentOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value)]),
  );
}

/** Seconds of a Compose duration such as `45s`, `1m30s` or `300ms`. */
export function durationSeconds(duration: string): number {
  let seconds = 0;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== duration) {
    throw new Error(`not a duration: "${duration}"`);
  }
  for (const [, amount, unit] of parts) seconds += Number(amount) * units[unit!]!;
  return seconds;
}

/** A published port, `HOST_IP:HOST_PORT:CONTAINER_PORT` in the short syntax. */
export interface PublishedPort {
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

/** Parses the short port syntax; a port without a host address counts as 0.0.0.0. */
export function parsePort(spec: string): PublishedPort {
  const parts = spec.replace(/\/(tcp|udp)$/, "").split(":");
  const containerPort = Number(parts.pop());
  const hostPort = Number(parts.pop() ?? containerPort);
  const hostIp = parts.length > 0 ? parts.join(":") : "0.0.0.0";
  return { hostIp, hostPort, containerPort };
}

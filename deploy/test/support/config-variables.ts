import { readRepoFile, type NodeService } from "./repo.js";

/** What a service reads from its environment, found in its source. */
export interface ConfigVariables {
  /** Every variable name read. */
  all: Set<string>;
  /** The ones read as secrets: `NAME` or the file named by `NAME_FILE`. */
  secrets: Set<string>;
}

/**
 * The composition root and the configuration module: the only places a service reads its
 * environment (style.md). Telemetry's standard OTEL_* variables are optional and not listed.
 */
const configSources = (service: NodeService) => [
  `${service}/src/config.ts`,
  `${service}/src/main.ts`,
];

/**
 * The variables a service's configuration code reads, by pattern, so that a variable added to
 * the code shows up here (and in the wiring tests) without anyone updating a list:
 * `env.NAME`, `env["NAME"]`, and any call whose first (or, after `env`, second) argument is an
 * upper-case string literal, e.g. `int("API_PORT", ...)`, `text("LOG_LEVEL", ...)`,
 * `readSecret(env, "NAME")`. Calls of functions named like `secret`/`readSecret` mark secrets.
 */
export function configVariables(service: NodeService): ConfigVariables {
  const all = new Set<string>();
  const secrets = new Set<string>();
  for (const path of configSources(service)) {
    const source = stripComments(readRepoFile(path));
    for (const match of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) all.add(match[1]!);
    for (const match of source.matchAll(/\benv\[\s*["'`]([A-Z][A-Z0-9_]*)["'`]\s*\]/g)) {
      all.add(match[1]!);
    }
    const call = /\b([A-Za-z_$][\w$]*)\(\s*(?:env\s*,\s*)?["']([A-Z][A-Z0-9_]{2,})["']/g;
    for (const match of source.matchAll(call)) {
      all.add(match[2]!);
      if (/secret/i.test(match[1]!)) secrets.add(match[2]!);
    }
  }
  // process.on("SIGTERM", ...) and the like name signals, not variables.
  for (const name of all) if (/^SIG[A-Z]+$/.test(name)) all.delete(name);
  return { all, secrets };
}

/** Drops comments, so a variable mentioned in prose is not taken for one read. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

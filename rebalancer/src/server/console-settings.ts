// What the console needs to know that its files cannot: where the subscriber is, which differs per
// deployment while the built console does not.
import type { NodeRequestHandler } from "@mesh/platform/server/node-request-handler";
import { writeJson } from "@mesh/platform/server/write-json";

/** The console's settings, as GET /console/settings.json answers them. */
export interface ConsoleSettings {
  /** Base URL of the subscriber's service as a browser reaches it; absent: not configured. */
  subscriberUrl?: string;
}

/** Answers GET `path` with `settings` (no key: they hold no secret); the rest goes to `fallback`. */
export function createConsoleSettings(
  path: string,
  settings: ConsoleSettings,
  fallback: NodeRequestHandler,
): NodeRequestHandler {
  return function consoleSettings(req, res): void {
    if (req.method === "GET" && (req.url ?? "").split("?", 1)[0] === path) {
      writeJson(res, 200, settings, { "cache-control": "no-cache" });
      return;
    }
    fallback(req, res);
  };
}

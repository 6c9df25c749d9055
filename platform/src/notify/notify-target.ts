import { createHash } from "node:crypto";

/** How a receiver wants its notifications. */
export type NotifyFormat = "json" | "ntfy" | "slack";

/** A configured receiver of notifications: where to POST and in which form. */
export interface NotifyTarget {
  format: NotifyFormat;
  /** The http(s) URL POSTed to, without credentials. */
  url: string;
  /** `Authorization` value made from the URL's user:password, when it had them. */
  authorization?: string;
  /** The URL as logs may show it: credentials, query values and Slack's secret path redacted. */
  shown: string;
  /**
   * Identifies the target in the outbox, a hash of the configured URL: rows never hold the
   * URL itself, so its secrets stay out of the database.
   */
  key: string;
  /** The secret parts of the URL, for the log redactor. */
  secrets: string[];
}

/** A NOTIFY_URLS entry that cannot be used. */
export class NotifyUrlError extends Error {}

const redacted = "[redacted]";

/**
 * Reads one NOTIFY_URLS entry. `ntfy://host/topic` is `ntfy+https://host/topic`; a `ntfy+` or
 * `slack+` prefix on an http(s) URL picks that form (`ntfy+http://` for a local ntfy server);
 * a URL on hooks.slack.com is a Slack incoming webhook; anything else gets the JSON body.
 */
export function parseNotifyTarget(text: string): NotifyTarget {
  const raw = text.trim();
  let format: NotifyFormat = "json";
  let rest = raw;
  const prefix = /^(ntfy|slack)\+(https?:\/\/.*)$/i.exec(raw);
  if (prefix) {
    format = prefix[1]!.toLowerCase() as NotifyFormat;
    rest = prefix[2]!;
  } else if (/^ntfy:\/\//i.test(raw)) {
    format = "ntfy";
    rest = `https://${raw.slice("ntfy://".length)}`;
  }
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    throw new NotifyUrlError(`not a URL: ${shownOf(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new NotifyUrlError(
      `${shownOf(raw)}: must be http(s)://, ntfy:// or ntfy+/slack+http(s)://`,
    );
  }
  if (format === "json" && url.hostname === "hooks.slack.com") format = "slack";
  if (format === "ntfy" && url.pathname.replace(/\//g, "") === "") {
    throw new NotifyUrlError(
      `${shownOf(raw)}: an ntfy URL needs a topic, e.g. ntfy://ntfy.sh/my-topic`,
    );
  }

  const secrets: string[] = [];
  let authorization: string | undefined;
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    secrets.push(url.password, password, `${url.username}:${url.password}`, authorization.slice(6));
    url.username = "";
    url.password = "";
  }
  for (const [, value] of url.searchParams) secrets.push(value, encodeURIComponent(value));
  // A Slack webhook's path is its credential.
  if (format === "slack") {
    secrets.push(...url.pathname.split("/").filter((s) => s.length >= 4 && s !== "services"));
  }

  return {
    format,
    url: url.toString(),
    ...(authorization ? { authorization } : {}),
    shown: shownOf(raw, format),
    key: createHash("sha256").update(raw).digest("hex").slice(0, 32),
    secrets: [...new Set(secrets.filter((s) => s.length > 0))],
  };
}

/** The URL with its credentials, query values and (Slack) path replaced, for logs and errors. */
function shownOf(raw: string, format?: NotifyFormat): string {
  const parsed = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?/i.exec(raw);
  if (!parsed) return redacted;
  const [, scheme, authority, path, query] = parsed;
  const host = authority!.includes("@") ? `${redacted}@${authority!.split("@").pop()}` : authority;
  const slack = format === "slack" || /hooks\.slack\.com$/i.test(host!);
  const shownPath = slack && path ? `/${redacted}` : path;
  const shownQuery = query
    ? `?${query
        .slice(1)
        .split("&")
        .map((pair) => `${pair.split("=")[0]}=${redacted}`)
        .join("&")}`
    : "";
  return `${scheme}${host}${shownPath}${shownQuery}`;
}

/** A PostgreSQL connection URL (DATABASE_URL), checked, with a form that is safe to show. */
export interface DatabaseUrl {
  /** postgres://… as given: what the driver connects with. Holds the password; never log it. */
  url: string;
  /** The same URL with the password (user info or `password=` parameter) as `[redacted]`. */
  shown: string;
}

/**
 * Checks that `value` is a postgres:// (or postgresql://) URL naming a server. Throws an Error
 * whose message never quotes the password, so it can go into a start-up problem list.
 */
export function parseDatabaseUrl(value: string): DatabaseUrl {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The value is not echoed: it may hold the password.
    throw new Error(
      "must be a URL such as postgres://user:password@host:5432/database (percent-encode special characters in the password)",
    );
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    // Only the scheme: the rest of another kind of URL may hold the password anywhere.
    throw new Error(`must be a postgres:// or postgresql:// URL, got a ${url.protocol} URL`);
  }
  const shown = redactDatabaseUrl(url);
  // A socket directory may come as ?host=/var/run/postgresql instead of a host name.
  if (url.hostname === "" && !url.searchParams.get("host")) {
    throw new Error(`names no server host, got "${shown}"`);
  }
  return { url: value, shown };
}

/** The URL with its password, wherever it is given, replaced by `[redacted]`. */
export function redactDatabaseUrl(url: URL): string {
  const user = url.username ? `${url.username}${url.password ? ":[redacted]" : ""}@` : "";
  const search = new URLSearchParams(url.search);
  if (search.has("password")) search.set("password", "[redacted]");
  const query = search.size > 0 ? `?${decodeURIComponent(search.toString())}` : "";
  return `${url.protocol}//${user}${url.host}${url.pathname}${query}`;
}

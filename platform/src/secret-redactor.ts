/** Removes configured secrets from text that came from outside the process. */
export interface SecretRedactor {
  /** The text with every form of every secret replaced by `[redacted]`. */
  redact(text: string): string;
  /** True when there is nothing to redact. */
  readonly empty: boolean;
}

/** Secrets shorter than this are not redacted: they would blank out ordinary words. */
const shortest = 4;

/**
 * A redactor for the given secrets in every encoding they travel in: plain, JSON-escaped (once
 * and twice, as in a JSON string inside a JSON message), and URL-encoded (either hex case, `+` or
 * `%20` for spaces). Longer forms are replaced first so that no part of one survives.
 */
export function createSecretRedactor(secrets: readonly (string | undefined)[]): SecretRedactor {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === undefined || secret.length < shortest) continue;
    const json = JSON.stringify(secret).slice(1, -1);
    const url = encodeURIComponent(secret);
    for (const form of [
      secret,
      json,
      JSON.stringify(json).slice(1, -1),
      url,
      url.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
      url.replaceAll("%20", "+"),
      encodeURI(secret),
    ]) {
      forms.add(form);
    }
  }
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return {
    empty: ordered.length === 0,
    redact(text) {
      let result = text;
      for (const form of ordered) result = result.replaceAll(form, "[redacted]");
      return result;
    },
  };
}

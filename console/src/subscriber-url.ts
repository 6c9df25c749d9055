/**
 * Where the subscriber's service is, for the Events and Dead letters pages: the
 * `subscriber-api-url` meta tag of the page (set by `console/build.ts --subscriber-url` for a
 * console served elsewhere), else what the rebalancer says at /console/settings.json (its
 * CONSOLE_SUBSCRIBER_URL, which `npm start` sets). Never from the page's URL, so a link cannot
 * point the console, and the key a person typed, at another server. Undefined when neither says.
 */
export async function subscriberUrl(page: Document, apiUrl: string): Promise<string | undefined> {
  const configured = page
    .querySelector<HTMLMetaElement>('meta[name="subscriber-api-url"]')
    ?.content.trim();
  if (configured) return configured.replace(/\/+$/, "");
  const response = await fetch(`${apiUrl}/console/settings.json`).catch(() => undefined);
  if (!response?.ok) return undefined;
  const settings = (await response.json().catch(() => ({}))) as { subscriberUrl?: unknown };
  return typeof settings.subscriberUrl === "string" && settings.subscriberUrl !== ""
    ? settings.subscriberUrl
    : undefined;
}

/**
 * Where the API is: the `rebalancer-api-url` meta tag of the page (set by `console/build.ts
 * --api-url` for a console served from another origin), else the page's own origin. It comes
 * from the page's files, never from the URL, so a link cannot point the console, and the key a
 * person types, at another server.
 */
export function apiBaseUrl(page: Document): string {
  const configured = page
    .querySelector<HTMLMetaElement>('meta[name="rebalancer-api-url"]')
    ?.content.trim();
  return configured ? configured.replace(/\/+$/, "") : page.location.origin;
}

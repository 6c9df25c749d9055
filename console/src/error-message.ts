import { Code, ConnectError } from "@connectrpc/connect";

/**
 * What to tell a person about a failed call. The server's messages are written for humans
 * ("account DU123 is not configured"); a call that never got an answer is named as such, since
 * the browser hides why (server down, or this page's origin not in CORS_ORIGINS).
 */
export function errorMessage(error: unknown, apiUrl: string): string {
  const connectError = ConnectError.from(error);
  if (connectError.code === Code.Canceled) return "Cancelled.";
  if (
    connectError.code === Code.Unknown &&
    /fetch|network|load failed/i.test(connectError.rawMessage)
  ) {
    return (
      `Cannot reach the rebalancer at ${apiUrl}: it is not running, or it does not allow ` +
      `calls from ${location.origin} (CORS_ORIGINS).`
    );
  }
  if (connectError.code === Code.Unauthenticated) {
    return `${connectError.rawMessage}. Reload the page to enter an API key.`;
  }
  return connectError.rawMessage;
}

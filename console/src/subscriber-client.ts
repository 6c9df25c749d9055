import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { SubscriberService } from "@mesh/proto/subscriber/v1/subscriber";
import type { ApiKeyStore } from "./api-key-store.js";
import { createBearerInterceptor } from "./bearer-interceptor.js";

/** The generated SubscriberService client. */
export type SubscriberClient = Client<typeof SubscriberService>;

/**
 * A client calling the subscriber at `baseUrl` with Connect JSON and the stored API key (the
 * same key as the rebalancer's when `npm start` runs both). A call that gets no answer fails
 * naming the subscriber and its CORS setting, since the browser hides why.
 */
export function createSubscriberClient(baseUrl: string, keys: ApiKeyStore): SubscriberClient {
  const transport = createConnectTransport({
    baseUrl,
    useBinaryFormat: false,
    interceptors: [
      createBearerInterceptor(keys),
      (next) => async (request) => {
        try {
          return await next(request);
        } catch (error) {
          const connectError = ConnectError.from(error);
          if (
            connectError.code === Code.Unknown &&
            /fetch|network|load failed/i.test(connectError.rawMessage)
          ) {
            throw new ConnectError(
              `Cannot reach the subscriber at ${baseUrl}: it is not running, or it does not ` +
                `allow calls from ${location.origin} (SUBSCRIBER_CORS_ORIGINS).`,
              Code.Unavailable,
            );
          }
          throw error;
        }
      },
    ],
  });
  return createClient(SubscriberService, transport);
}

// Who is calling, as the service sees it: the subject the transport verified (server/ puts it
// in the request's context values, or for REST in the async context), for the run's trigger.
import { AsyncLocalStorage } from "node:async_hooks";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";

/** The subject of the caller's verified client certificate, e.g. "CN=subscriber,O=mesh". */
export const callerSubjectKey = createContextKey<string | undefined>(undefined, {
  description: "subject of the verified TLS client certificate",
});

// REST calls reach the implementation through an in-process transport, which carries no context
// values: the REST request's caller travels in the async context instead.
const restCaller = new AsyncLocalStorage<string>();

/** Runs `work` with `subject` as the caller of the REST calls it makes ("" for none). */
export function withRestCallerSubject<T>(subject: string, work: () => T): T {
  return restCaller.run(subject, work);
}

/** The verified caller of an RPC, whichever protocol (REST included) it came in on; "" if none. */
export function callerSubject(context: HandlerContext): string {
  return context.values.get(callerSubjectKey) ?? restCaller.getStore() ?? "";
}

import type { DescMethod, Message } from "@bufbuild/protobuf";
import type { Logger } from "@mesh/platform/logger";
import type { NodeResponse } from "@mesh/platform/server/node-request-handler";
import { restError } from "./rest-error.js";
import { restResponseJson } from "./rest-response-json.js";

/** How a server stream is told as Server-Sent Events (text/event-stream). */
export interface RestEventStream {
  /** The `event:` name of a response, e.g. "run". */
  event(response: Message): string;
  /** The `id:` of a response: what a reconnecting EventSource sends back as Last-Event-ID. */
  id(response: Message): string;
  /**
   * The request field a Last-Event-ID header sets when the query does not set it, so that an
   * EventSource resumes where it was, e.g. "resume_token".
   */
  resumeField: string;
}

/**
 * Answers with a server stream as Server-Sent Events: each response one event (its REST JSON as
 * `data`, its `id`), and an error that ends the stream as an `error` event with the REST error
 * body ({"code": "unavailable", "message": ...}). The first response is awaited before anything
 * is written, so a refused call (key, rules, unknown account) still gets its JSON error and
 * status. Each event waits for the client to take the previous one: a slow reader slows its
 * own stream only.
 */
export async function serveEvents(
  res: NodeResponse,
  method: DescMethod,
  stream: RestEventStream,
  responses: AsyncIterable<Message>,
  logger?: Logger,
): Promise<void> {
  const iterator = responses[Symbol.asyncIterator]();
  let next = await iterator.next();
  res.statusCode = 200;
  res.setHeader("content-type", "text/event-stream; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  // Proxies such as nginx hold a response back to buffer it unless told not to.
  res.setHeader("x-accel-buffering", "no");
  try {
    while (!next.done) {
      const data = JSON.stringify(restResponseJson(method.output, next.value));
      const id = stream.id(next.value);
      if (!(await write(res, `event: ${stream.event(next.value)}\nid: ${id}\ndata: ${data}\n\n`)))
        return;
      next = await iterator.next();
    }
  } catch (error) {
    if (res.writableEnded || isClosed(res)) return;
    const { status, body } = restError(error);
    if (status >= 500 && status !== 503) {
      logger?.error({ err: error, method: method.name }, "REST event stream failed");
    }
    await write(res, `event: error\ndata: ${JSON.stringify(body)}\n\n`);
  }
  res.end();
}

/** Writes a chunk, waiting while the client is behind; false once the response is gone. */
function write(res: NodeResponse, text: string): Promise<boolean> {
  if (isClosed(res)) return Promise.resolve(false);
  if ((res as { write(chunk: string): boolean }).write(text)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const drained = () => {
      res.off("close", closed);
      resolve(true);
    };
    const closed = () => {
      res.off("drain", drained);
      resolve(false);
    };
    res.once("drain", drained);
    res.once("close", closed);
  });
}

function isClosed(res: NodeResponse): boolean {
  return "stream" in res ? res.stream.destroyed : res.destroyed;
}

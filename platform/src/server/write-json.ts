import type { NodeResponse } from "./node-request-handler.js";

/** Answers a request with a JSON body and ends the response. */
export function writeJson(
  res: NodeResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(text));
  for (const [name, value] of Object.entries(headers)) {
    res.setHeader(name, value);
  }
  res.end(text);
}

// The request and response types shared by every layer in front of the RPC handlers: the same
// handler serves the HTTP/1.1 and the HTTP/2 server of the one port.
import type * as http from "node:http";
import type * as http2 from "node:http2";

/** A request from either the HTTP/1.1 or the HTTP/2 server. */
export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** A response of either the HTTP/1.1 or the HTTP/2 server. */
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** A handler for both servers, like connect-node's adapter. */
export type NodeRequestHandler = (req: NodeRequest, res: NodeResponse) => void;

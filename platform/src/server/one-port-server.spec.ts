import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { stays, until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import { createOnePortServer } from "./one-port-server.js";
import type { OnePortServer } from "./one-port-server.js";

/** GET over h2c; resolves with the body. */
function h2Get(session: http2.ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": path });
    let body = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => resolve(body));
    stream.on("error", reject);
    stream.end();
  });
}

describe("createOnePortServer", () => {
  let server: OnePortServer;
  let url: string;
  let port: number;
  // Requests to /slow wait for this before they are answered.
  let releaseSlow: () => void = () => undefined;
  // Requests to /slow the server has received.
  let slowArrived = 0;

  beforeEach(async () => {
    slowArrived = 0;
    const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
    server = createOnePortServer(
      (req, res) => {
        const answer = () => res.end(`HTTP/${req.httpVersion} ${req.url}`);
        if (req.url === "/slow") {
          slowArrived += 1;
          void slow.then(answer);
        } else {
          answer();
        }
      },
      { firstBytesTimeoutMs: 300 },
    );
    ({ url, port } = await server.listen(0, "127.0.0.1"));
  });
  afterEach(async () => {
    releaseSlow();
    await server.close(500);
  });

  it("serves HTTP/1.1 with keep-alive and h2c on the same port", async () => {
    for (const path of ["/a", "/b"]) {
      expect(await (await fetch(`${url}${path}`)).text()).to.equal(`HTTP/1.1 ${path}`);
    }
    const session = http2.connect(url);
    try {
      expect(await h2Get(session, "/c")).to.equal("HTTP/2.0 /c");
      expect(await h2Get(session, "/d")).to.equal("HTTP/2.0 /d");
    } finally {
      session.close();
    }
  });

  it("waits for the whole HTTP/2 preface when it arrives in pieces", async () => {
    const session = http2.connect(url, {
      createConnection: () => {
        const socket = net.connect(port, "127.0.0.1");
        const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
        let first = true;
        socket.write = ((chunk: Buffer) => {
          if (first && chunk.length > 4) {
            first = false;
            write(chunk.subarray(0, 4));
            setTimeout(() => write(chunk.subarray(4)), 30);
            return true;
          }
          return write(chunk);
        }) as typeof socket.write;
        return socket;
      },
    });
    try {
      expect(await h2Get(session, "/split")).to.equal("HTTP/2.0 /split");
    } finally {
      session.close();
    }
  });

  it("drops a connection that sends nothing", async () => {
    const socket = net.connect(port, "127.0.0.1");
    const started = Date.now();
    await new Promise((resolve) => socket.once("close", resolve));
    expect(Date.now() - started).to.be.within(200, 2000);
  });

  it("answers 400 to bytes that are no HTTP", async () => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write("HELLO\r\n\r\n"));
    let reply = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (reply += chunk));
    await new Promise((resolve) => socket.once("close", resolve));
    expect(reply).to.match(/^HTTP\/1\.1 400/);
  });

  it("closes at once when every connection is idle", async () => {
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) =>
      http.get(`${url}/idle`, { agent }, (res) => res.resume().on("end", resolve)),
    );
    const session = http2.connect(url);
    await h2Get(session, "/idle");
    const started = Date.now();
    await server.close(5000);
    expect(Date.now() - started).to.be.below(1000);
    agent.destroy();
    session.destroy();
  });

  it("lets an HTTP/1.1 request in flight finish, then closes its connection", async () => {
    const agent = new http.Agent({ keepAlive: true });
    const response = new Promise<{ body: string; connection?: string }>((resolve) =>
      http.get(`${url}/slow`, { agent }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ body, connection: res.headers.connection }));
      }),
    );
    await until(() => slowArrived === 1, 5000, "the request in flight");
    let closed = false;
    const closing = server.close(5000).then(() => (closed = true));
    // The request is held: close must keep waiting; nothing signals that it did not resolve.
    await stays(() => !closed, 100, "close waiting for the request in flight");
    expect(closed).to.equal(false);
    releaseSlow();
    expect(await response).to.deep.equal({ body: "HTTP/1.1 /slow", connection: "close" });
    await closing;
    agent.destroy();
  });
});

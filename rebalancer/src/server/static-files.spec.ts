import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { createConsoleSettings } from "./console-settings.js";
import { createStaticFiles } from "./static-files.js";

/** A GET (or other method) sent as written: fetch would normalise "..", this does not. */
function send(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () =>
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("static files", () => {
  let server: Server;
  let port: number;

  before(async () => {
    const parent = mkdtempSync(join(tmpdir(), "static-files-"));
    const root = join(parent, "dist");
    mkdirSync(join(root, "assets"), { recursive: true });
    writeFileSync(join(root, "index.html"), "<!doctype html><title>console</title>");
    writeFileSync(join(root, "console.js"), "console.log(1);");
    writeFileSync(join(root, "assets", "index.html"), "nested");
    writeFileSync(join(root, ".env"), "SECRET=1");
    writeFileSync(join(parent, "secret.txt"), "outside the folder");
    const handler = createStaticFiles({ root, mountPath: "/console/" });
    server = createServer(handler);
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  it("serves index.html for the mount path with a page security policy", async () => {
    const res = await send(port, "/console/");
    expect(res.status).to.equal(200);
    expect(res.body).to.contain("<title>console</title>");
    expect(res.headers["content-type"]).to.equal("text/html; charset=utf-8");
    expect(res.headers["content-security-policy"]).to.contain("frame-ancestors 'none'");
    expect(res.headers["x-content-type-options"]).to.equal("nosniff");
  });

  it("redirects the mount path without its slash, keeping the query", async () => {
    const res = await send(port, "/console?api=x");
    expect(res.status).to.equal(308);
    expect(res.headers.location).to.equal("/console/?api=x");
  });

  it("serves scripts with their content type and answers HEAD without a body", async () => {
    const get = await send(port, "/console/console.js");
    expect(get.headers["content-type"]).to.equal("text/javascript; charset=utf-8");
    expect(get.body).to.equal("console.log(1);");
    const head = await send(port, "/console/console.js", { method: "HEAD" });
    expect(head.status).to.equal(200);
    expect(head.headers["content-length"]).to.equal("15");
    expect(head.body).to.equal("");
  });

  it("answers 304 when the browser already has the file", async () => {
    const first = await send(port, "/console/console.js");
    const again = await send(port, "/console/console.js", {
      headers: { "if-none-match": String(first.headers.etag) },
    });
    expect(again.status).to.equal(304);
    expect(again.body).to.equal("");
  });

  it("serves a sub-folder's index.html", async () => {
    const res = await send(port, "/console/assets/");
    expect(res.body).to.equal("nested");
  });

  for (const path of [
    "/console/../secret.txt",
    "/console/%2e%2e/secret.txt",
    "/console/%2e%2e%2fsecret.txt",
    "/console/..%5csecret.txt",
    "/console/.env",
    "/console/%00index.html",
    "/console/%E0%A4%A",
  ]) {
    it(`refuses ${path} with 404`, async () => {
      const res = await send(port, path);
      expect(res.status).to.equal(404);
      expect(res.body).not.to.contain("outside the folder");
      expect(res.body).not.to.contain("SECRET");
    });
  }

  it("answers 404 for a missing file and for paths outside the mount path", async () => {
    expect((await send(port, "/console/missing.js")).status).to.equal(404);
    const outside = await send(port, "/accounts-nowhere");
    expect(outside.status).to.equal(404);
    expect(JSON.parse(outside.body)).to.deep.equal({
      code: "not_found",
      message: "no route for GET /accounts-nowhere",
    });
  });

  it("refuses methods other than GET and HEAD", async () => {
    const res = await send(port, "/console/index.html", { method: "POST" });
    expect(res.status).to.equal(405);
    expect(res.headers.allow).to.equal("GET, HEAD");
  });

  it("rejects a mount path without slashes at both ends", () => {
    expect(() => createStaticFiles({ root: ".", mountPath: "/console" })).to.throw(/mountPath/);
  });
});

describe("the console's settings", () => {
  let server: Server;
  let port: number;
  before(async () => {
    const root = mkdtempSync(join(tmpdir(), "console-settings-"));
    writeFileSync(join(root, "index.html"), "<!doctype html><title>console</title>");
    const subscriberUrl = "http://127.0.0.1:8101";
    const handler = createConsoleSettings(
      "/console/settings.json",
      { subscriberUrl },
      createStaticFiles({ root, mountPath: "/console/", connectSources: [subscriberUrl] }),
    );
    server = createServer(handler);
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  it("tells the console where the subscriber is, and lets its pages call it and nothing else", async () => {
    const settings = await send(port, "/console/settings.json");
    expect(settings.status).to.equal(200);
    expect(JSON.parse(settings.body)).to.deep.equal({ subscriberUrl: "http://127.0.0.1:8101" });
    const page = await send(port, "/console/");
    expect(page.headers["content-security-policy"]).to.contain(
      "connect-src 'self' http://127.0.0.1:8101",
    );
    expect(page.headers["content-security-policy"]).to.contain("default-src 'self'");
  });
});

// Container health check: GET /health of the service running in this container, healthy only
// on 200. Used by both Dockerfiles' HEALTHCHECK and by docker-compose.yml; node's own fetch,
// since slim images have no curl. Plain JavaScript so it starts fast without a loader.
//
//   node deploy/healthcheck.mjs rebalancer|subscriber
//
// Reads the same variables as the service: where it listens and on which port, and whether it
// serves HTTPS (TLS_CERT_FILE). Under TLS the check dials its own container, so it does not
// verify the certificate's name, and it presents the service's own certificate in case client
// certificates are required (mTLS); no key or secret is sent.

/* global process, console, fetch, AbortSignal */
import { readFileSync } from "node:fs";
import { get } from "node:https";

/** Per service: the variables naming its listen address and port, and the port's default. */
const services = {
  rebalancer: { hostVariable: "API_HOST", portVariable: "API_PORT", defaultPort: 8000 },
  subscriber: {
    hostVariable: "SUBSCRIBER_HOST",
    portVariable: "SUBSCRIBER_PORT",
    defaultPort: 8001,
  },
};

/** Docker kills a check that outlives its `--timeout`; answer before that with a reason. */
const timeoutMs = 4000;

const name = process.argv[2];
const service = services[name];
if (!service) {
  console.log(`usage: node deploy/healthcheck.mjs ${Object.keys(services).join("|")}`);
  // 1, not 2: Docker reserves exit code 2.
  process.exit(1);
}

const port = process.env[service.portVariable] || String(service.defaultPort);
const certFile = process.env.TLS_CERT_FILE;
const keyFile = process.env.TLS_KEY_FILE;
const scheme = certFile ? "https" : "http";
const url = `${scheme}://${dialHost(process.env[service.hostVariable])}:${port}/health`;
try {
  const response = certFile ? await httpsGet(url, certFile, keyFile) : await httpGet(url);
  const body = response.body;
  // Docker keeps the output of the last checks in `docker inspect`: say why, briefly.
  console.log(`${url} ${response.status} ${body.slice(0, 500)}`);
  process.exit(response.status === 200 ? 0 : 1);
} catch (error) {
  console.log(`${url} unreachable: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

/** The address to call for a listen address: a wildcard or nothing means this container. */
function dialHost(listenHost) {
  if (!listenHost || listenHost === "0.0.0.0") return "127.0.0.1";
  if (listenHost === "::") return "[::1]";
  return listenHost.includes(":") ? `[${listenHost}]` : listenHost;
}

async function httpGet(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
}

function httpsGet(url, certFile, keyFile) {
  return new Promise((resolve, reject) => {
    const options = {
      rejectUnauthorized: false,
      cert: readFileSync(certFile),
      ...(keyFile ? { key: readFileSync(keyFile) } : {}),
      timeout: timeoutMs,
    };
    const request = get(url, options, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
  });
}

// A real PostgreSQL server for a test suite: a throwaway cluster of Debian's server (installed by
// scripts/ensure-postgres.js) in a temporary directory, on a free loopback port, run as the
// `postgres` user (the server refuses root), with durability off since nothing outlives the run.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./free-port.js";

/** A running throwaway cluster. */
export interface TestPostgres {
  /** postgres://… of the cluster's default database. */
  url: string;
  /** Creates a fresh, empty database and returns its URL: one per suite or test. */
  createDatabase(): Promise<string>;
  /** Stops the server at once (also done when the process exits) and removes its files. */
  stop(): Promise<void>;
}

/** Starts a cluster; resolves once it accepts connections. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = serverBin();
  const user = Number(execFileSync("id", ["-u", "postgres"]).toString());
  const group = Number(execFileSync("id", ["-g", "postgres"]).toString());
  const dir = mkdtempSync(join(tmpdir(), "test-postgres-"));
  chownSync(dir, user, group);
  const data = join(dir, "data");
  const asPostgres = { uid: user, gid: group, stdio: "pipe" as const };
  execFileSync(
    join(bin, "initdb"),
    ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"],
    asPostgres,
  );
  const port = await freePort();
  const server: ChildProcess = spawn(
    join(bin, "postgres"),
    ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"]
      .concat(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
      .concat(["-c", "max_connections=200"]),
    asPostgres,
  );
  let output = "";
  server.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  server.stdout?.resume();
  // The server is its own process: never leave it running after the tests' process.
  const kill = () => {
    if (server.exitCode === null) server.kill("SIGQUIT");
  };
  process.once("exit", () => {
    kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await ready(url, server, () => output);
  let databases = 0;
  return {
    url,
    async createDatabase() {
      const name = `test_${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once("exit", resolve));
        server.kill("SIGINT");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bin folder of the newest installed server. */
function serverBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb")))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest)
    throw new Error("no PostgreSQL server: run scripts/ensure-postgres.js (npm test does)");
  return join(root, newest, "bin");
}

/** Polls until the server answers a query, or fails with its output. */
async function ready(url: string, server: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited: ${output()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`postgres did not start: ${(err as Error).message}\n${output()}`, {
          cause: err,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

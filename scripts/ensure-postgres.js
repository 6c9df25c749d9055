// Test set-up for the suites that run against a real PostgreSQL server: Debian's server,
// installed with apt-get when it is missing (as root, as on CI and the project's machines), and
// the system user it must run as. Each suite then starts its own throwaway cluster
// (platform/src/testing/test-postgres.ts); the system's cluster is never started.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

const root = "/usr/lib/postgresql";
const installed = () =>
  existsSync(root) && readdirSync(root).some((v) => existsSync(`${root}/${v}/bin/initdb`));
const run = (cmd, ...args) =>
  execFileSync(cmd, args, {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });

if (!installed()) {
  if (process.getuid?.() !== 0) {
    console.error(
      "PostgreSQL's server is missing: install Debian's postgresql (apt-get install postgresql)",
    );
    process.exit(1);
  }
  console.log("PostgreSQL's server is missing: installing Debian's postgresql");
  run("apt-get", "update");
  run("apt-get", "install", "-y", "--no-install-recommends", "postgresql");
}
try {
  execFileSync("id", ["-u", "postgres"], { stdio: "ignore" });
} catch {
  run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres");
}

import { dirname, resolve } from "node:path";

/**
 * The folder the person ran the command in: relative paths in either service's configuration
 * (ACCOUNTS_FILE, DATA_DIR, *_FILE, TLS files) are resolved against it, one rule for both.
 *
 * npm runs a package's script in the package's folder (`npm start -w rebalancer` runs in
 * `rebalancer/`) and says where it was started in INIT_CWD. INIT_CWD is taken only while the
 * process still runs in that script's folder: a process started elsewhere by a script (a test
 * spawning a service in a temporary folder) inherits INIT_CWD without it meaning anything.
 */
export function callerFolder(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): string {
  const initCwd = env.INIT_CWD;
  const script = env.npm_package_json;
  if (initCwd && script && resolve(dirname(script)) === resolve(cwd)) return resolve(initCwd);
  return resolve(cwd);
}

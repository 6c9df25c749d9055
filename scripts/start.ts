// `npm start`: runs the rebalancer and the subscriber side by side, the subscriber calling this
// rebalancer with one of its keys; prints where everything is once both are healthy; stops both
// when either exits or on Ctrl-C / SIGTERM / SIGHUP.
import { spawn } from "node:child_process";
import { setInterval } from "node:timers";
import { setTimeout as sleep } from "node:timers/promises";
import { readConfig, type RebalancerConfig } from "@mesh/rebalancer/config";
import { loadConfig, type SubscriberConfig } from "../subscriber/src/config.js";
import { httpStatus } from "./start/http-status.js";
import { ingressUrl, metricsUrls, readyBlock } from "./start/ready-block.js";
import { rebalancerUrl, subscriberEnvironment } from "./start/subscriber-environment.js";

/** A configuration, or undefined when it is refused: the service itself then says why and exits. */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

const rebalancerConfig: RebalancerConfig | undefined = attempt(() => readConfig(process.env));
const subscriberEnv = rebalancerConfig
  ? subscriberEnvironment(process.env, rebalancerConfig)
  : process.env;
const subscriberConfig: SubscriberConfig | undefined = attempt(() => loadConfig(subscriberEnv));
const environments = {
  // The console finds the subscriber it calls for events and dead letters through its rebalancer.
  rebalancer:
    subscriberConfig && !process.env.CONSOLE_SUBSCRIBER_URL?.trim()
      ? { ...process.env, CONSOLE_SUBSCRIBER_URL: ingressUrl(subscriberConfig) }
      : process.env,
  subscriber: subscriberEnv,
};

const services = ["rebalancer", "subscriber"] as const;
const children = services.map((name) =>
  spawn(process.execPath, ["--import", "tsx", `${name}/src/main.ts`], {
    stdio: "inherit",
    env: environments[name],
  }),
);

let stopping = false;
/** Stops both with SIGTERM, whatever stopped the launcher: to a service, SIGHUP means "reload". */
function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, stop);

// npm forwards a signal to the shell running the script, not to this launcher; when that parent
// goes away (the launcher is reparented), stop the services instead of leaving them orphaned.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 250).unref();

let exitCode = 0;
let running = children.length;
children.forEach((child, i) =>
  child.on("exit", (code, signal) => {
    if (!stopping) console.error(`${services[i]} exited (${signal ?? code}); stopping the mesh`);
    if (code) exitCode = code;
    stop();
    if (--running === 0) process.exit(exitCode);
  }),
);

/** Waits until both answer /health with 200, then prints the ready block once. */
async function announceWhenHealthy(rebalancer: RebalancerConfig, subscriber: SubscriberConfig) {
  const healthUrls = [`${rebalancerUrl(rebalancer)}/health`, `${ingressUrl(subscriber)}/health`];
  const startedAt = Date.now();
  let waitingSaid = false;
  while (!stopping) {
    const statuses = await Promise.all(healthUrls.map((url) => httpStatus(url)));
    if (statuses.every((status) => status === 200)) break;
    if (!waitingSaid && Date.now() - startedAt > 30_000) {
      waitingSaid = true;
      const unhealthy = healthUrls.filter((_, i) => statuses[i] !== 200);
      console.error(`npm start: still waiting for ${unhealthy.join(" and ")} to answer 200`);
    }
    await sleep(300);
  }
  if (stopping) return;
  const facts = { rebalancer, subscriber };
  const served = new Set<string>();
  for (const url of metricsUrls(facts)) if ((await httpStatus(url)) === 200) served.add(url);
  if (!stopping) process.stdout.write(`${readyBlock({ ...facts, metricsServed: served })}\n`);
}

if (rebalancerConfig && subscriberConfig) {
  void announceWhenHealthy(rebalancerConfig, subscriberConfig);
}

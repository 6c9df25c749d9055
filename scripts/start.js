// `npm start`: runs the rebalancer and the subscriber side by side on the embedded defaults, and
// stops both when either exits or on Ctrl-C / SIGTERM.
import { spawn } from "node:child_process";
import { setInterval } from "node:timers";

const services = ["rebalancer", "subscriber"];
const children = services.map((name) =>
  spawn(process.execPath, ["--import", "tsx", `${name}/src/main.ts`], { stdio: "inherit" }),
);

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(signal));

// npm forwards a signal to the shell running the script, not to this launcher; when that parent
// goes away (the launcher is reparented), stop the services instead of leaving them orphaned.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop("SIGTERM");
}, 250).unref();

let exitCode = 0;
let running = children.length;
children.forEach((child, i) =>
  child.on("exit", (code, signal) => {
    if (!stopping) console.error(`${services[i]} exited (${signal ?? code}); stopping the mesh`);
    if (code) exitCode = code;
    stop("SIGTERM");
    if (--running === 0) process.exit(exitCode);
  }),
);

// `tsx console/build.ts [--out DIR] [--api-url URL] [--subscriber-url URL]`: builds the web
// console into console/dist (or DIR), for the rebalancer to serve at /console/, or for another
// origin with --api-url (and --subscriber-url, where the rebalancer cannot say where it is).
import { parseArgs } from "node:util";
import { buildConsole } from "./build-console.js";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    "api-url": { type: "string" },
    "subscriber-url": { type: "string" },
  },
});
const started = performance.now();
const outDir = await buildConsole({
  outDir: values.out,
  apiUrl: values["api-url"],
  subscriberUrl: values["subscriber-url"],
});
console.log(`console built in ${outDir} (${Math.round(performance.now() - started)} ms)`);

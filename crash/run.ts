// npm run test:crash [-- --quick] [--seed N] [--events N] [--kills N] [--subscriber-kills N]
//   [--expect-zero] [--keep]
// Prints the counts; exits 1 with --expect-zero when any is not zero, 2 on bad arguments.
import { parseArgs } from "node:util";
import { formatCrashReport, isClean, quickCrashOptions, runCrashTest } from "./crash-campaign.js";

const usage =
  "usage: tsx crash/run.ts [--quick] [--seed N] [--events N] [--kills N] [--subscriber-kills N] [--expect-zero] [--keep]";
let args;
try {
  args = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      seed: { type: "string" },
      events: { type: "string" },
      kills: { type: "string" },
      "subscriber-kills": { type: "string" },
      "expect-zero": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
    },
  }).values;
} catch (err) {
  process.stderr.write(`crash: ${(err as Error).message}\n${usage}\n`);
  process.exit(2);
}
const whole = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    process.stderr.write(`crash: --${name} must be a whole number, got "${value}"\n${usage}\n`);
    process.exit(2);
  }
  return Number(value);
};
const seed = whole("seed", args.seed) ?? Math.floor(Math.random() * 2 ** 31);
const defined = <T extends object>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
const options = {
  ...(args.quick ? quickCrashOptions : {}),
  ...defined({
    events: whole("events", args.events),
    rebalancerKills: whole("kills", args.kills),
    subscriberKills: whole("subscriber-kills", args["subscriber-kills"]),
  }),
  seed,
  keepFiles: args.keep,
  progress: (line: string) => process.stdout.write(`crash: ${line}\n`),
};
process.stdout.write(
  `crash: seed ${seed}${args.quick ? ", quick form" : ""} (--seed ${seed} to repeat the schedule)\n`,
);
const report = await runCrashTest(options);
process.stdout.write(`${formatCrashReport(report)}\n`);
process.stdout.write(`${JSON.stringify(report.counts)}\n`);
process.exit(args["expect-zero"] && !isClean(report.counts) ? 1 : 0);

// Runs the benchmarks and prints one table; writes the same figures as JSON.
//
//   npx tsx bench/run.ts [--quick] [--out test-output/bench.json] [--only planning,fan-out]
//
// Every figure is next to a baseline measured in the same run, as a ratio: the machines are
// shared and noisy, so absolute figures alone say little. --quick runs a reduced set in well
// under a minute (what CI runs, to keep the harness alive; CI checks that it ran, not the
// figures). Exits 1 when a benchmark failed to run, never because a target was missed.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { BenchReport } from "./bench-report.js";
import type { BenchOptions, BenchSection, SectionId } from "./bench-section.js";
import { formatTable } from "./format-table.js";
import { measureEventToOrder } from "./measure-event-to-order.js";
import { measureFanOut } from "./measure-fan-out.js";
import { measureFanOutReplicas } from "./measure-fan-out-replicas.js";
import { measureFootprint } from "./measure-footprint.js";
import { measureNotify } from "./measure-notify.js";
import { measurePlanning } from "./measure-planning.js";
import { measurePreflight } from "./measure-preflight.js";
import { measureRunRecording } from "./measure-run-recording.js";
import { measureRpcOverhead } from "./measure-rpc-overhead.js";

/** The benchmarks in the order they run, with the longest each may take (quick, full), s. */
const benchmarks: Record<
  SectionId,
  { measure: (options: BenchOptions) => Promise<BenchSection>; limitSeconds: [number, number] }
> = {
  planning: { measure: measurePlanning, limitSeconds: [30, 120] },
  "rpc-overhead": { measure: measureRpcOverhead, limitSeconds: [30, 120] },
  "event-to-order": { measure: measureEventToOrder, limitSeconds: [30, 180] },
  "run-recording": { measure: measureRunRecording, limitSeconds: [45, 180] },
  preflight: { measure: measurePreflight, limitSeconds: [30, 240] },
  "fan-out": { measure: measureFanOut, limitSeconds: [45, 300] },
  "fan-out-replicas": { measure: measureFanOutReplicas, limitSeconds: [60, 300] },
  footprint: { measure: measureFootprint, limitSeconds: [60, 300] },
  notify: { measure: measureNotify, limitSeconds: [30, 120] },
};

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string", default: "test-output/bench.json" },
    only: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  process.stdout.write(
    "usage: tsx bench/run.ts [--quick] [--out test-output/bench.json] [--only id,id]\n" +
      `benchmarks: ${Object.keys(benchmarks).join(", ")}\n`,
  );
  process.exit(0);
}
const ids = (args.only?.split(",").map((id) => id.trim()) ??
  Object.keys(benchmarks)) as SectionId[];
const unknown = ids.filter((id) => !(id in benchmarks));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(", ")}; see --help\n`);
  process.exit(2);
}

const quick = args.quick;
const started = Date.now();
const report: BenchReport = {
  quick,
  startedAt: new Date(started).toISOString(),
  seconds: 0,
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadBefore: loadavg()[0]!,
    loadAfter: 0,
  },
  sections: [],
  failures: [],
};

for (const id of ids) {
  const { measure, limitSeconds } = benchmarks[id];
  const limit = limitSeconds[quick ? 0 : 1];
  const at = Date.now();
  process.stderr.write(`${id}${quick ? " (quick)" : ""}...`);
  try {
    report.sections.push(await withinSeconds(measure({ quick }), limit, id));
    process.stderr.write(` ${((Date.now() - at) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    report.failures.push({ id, error });
    process.stderr.write(` failed: ${error}\n`);
  }
}
report.seconds = Number(((Date.now() - started) / 1000).toFixed(1));
report.machine.loadAfter = loadavg()[0]!;

const out = resolve(args.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
const { machine } = report;
process.stdout.write(
  `\n${formatTable(report.sections)}\n\n` +
    `${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}; ` +
    `load ${machine.loadBefore.toFixed(2)} before, ${machine.loadAfter.toFixed(2)} after; ` +
    `${report.seconds} s${quick ? " (quick set)" : ""}. JSON: ${out}\n`,
);
for (const failure of report.failures) {
  process.stdout.write(`FAILED ${failure.id}: ${failure.error}\n`);
}
// A benchmark that failed or timed out may leave sockets or timers behind: exit regardless.
process.exit(report.failures.length > 0 ? 1 : 0);

function withinSeconds<T>(work: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took longer than ${seconds} s`)),
      seconds * 1000,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

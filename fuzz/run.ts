// npm run fuzz: the full campaign (10,000 requests unless FUZZ_COUNT says otherwise), with a
// random seed unless FUZZ_SEED gives one. Exits 1 on any finding.
import { formatFuzzReport, runFuzzCampaign } from "./fuzz-campaign.js";

const seed = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 31);
const count = process.env.FUZZ_COUNT ? Number(process.env.FUZZ_COUNT) : 10_000;
if (!Number.isInteger(seed) || !Number.isInteger(count) || count < 1) {
  process.stderr.write("fuzz: FUZZ_SEED and FUZZ_COUNT must be whole numbers\n");
  process.exit(2);
}
process.stdout.write(
  `fuzz: seed ${seed}, ${count} requests (FUZZ_SEED=${seed} FUZZ_COUNT=${count} to repeat)\n`,
);
const started = Date.now();
const report = await runFuzzCampaign({
  seed,
  count,
  progress: (sent) => process.stdout.write(`fuzz: ${sent}/${count} sent\n`),
});
process.stdout.write(
  `${formatFuzzReport(report)}\nfuzz: ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);
process.exit(report.clean ? 0 : 1);

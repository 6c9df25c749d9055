import { expect } from "chai";
import { formatFuzzReport, runFuzzCampaign } from "./fuzz-campaign.js";

// The quick form of `npm run fuzz`: a fixed seed (FUZZ_SEED overrides) so npm test is
// reproducible, a few hundred requests against the real services.
describe("fuzz (quick form): bad input never trades, never fails the server, always answers", function () {
  this.timeout(120_000);

  it("sends generated bad requests to every protocol and finds nothing", async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 13);
    const count = Number(process.env.FUZZ_QUICK_COUNT ?? 400);
    const report = await runFuzzCampaign({ seed, count });
    const text = formatFuzzReport(report);
    if (!report.clean || process.env.FUZZ_VERBOSE) process.stdout.write(`${text}\n`);
    expect(report.sent).to.equal(count);
    expect(report.ordersPlaced, text).to.equal(0);
    expect(report.liveRuns, text).to.equal(0);
    expect(report.serverErrors, text).to.deep.equal([]);
    expect(report.resets, text).to.deep.equal([]);
    expect(report.hangs, text).to.deep.equal([]);
    expect(report.clean, text).to.equal(true);
  });
});

import { expect } from "chai";
import { formatCrashReport, isClean, quickCrashOptions, runCrashTest } from "./crash-campaign.js";

// The quick form of `npm run test:crash`, seed 7 (CRASH_SEED overrides). Until interrupted runs
// are resumed it reports runs left interrupted, so it checks that the test itself worked: every
// event sent and accepted, the kills done, the counts reported. CRASH_EXPECT_ZERO=1 also requires
// every count to be zero (what `--expect-zero` does).
describe("crash test (quick form): SIGKILLs of the rebalancer and the subscriber under live events", function () {
  this.timeout(120_000);

  it("sends every event, kills mid-sell, mid-buy and the subscriber, and reports the counts", async () => {
    const report = await runCrashTest({
      ...quickCrashOptions,
      seed: Number(process.env.CRASH_SEED ?? 7),
    });
    const text = formatCrashReport(report);
    process.stdout.write(`${text}\n`);
    expect(report.eventsSent, text).to.equal(quickCrashOptions.events);
    expect(report.eventsAccepted, text).to.equal(quickCrashOptions.events);
    expect(
      report.kills.filter((k) => k.service === "rebalancer"),
      text,
    ).to.have.length(2);
    expect(
      report.kills.filter((k) => k.service === "subscriber"),
      text,
    ).to.have.length(1);
    expect(Object.keys(report.counts)).to.have.members([
      "eventsLost",
      "duplicatedOrders",
      "runsInterrupted",
      "deadLettered",
      "accountsUnbalanced",
      "ordersMismatched",
    ]);
    if (process.env.CRASH_EXPECT_ZERO) expect(isClean(report.counts), text).to.equal(true);
  });
});

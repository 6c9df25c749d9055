import { expect } from "chai";
import { formatCrashReport, isClean, quickCrashOptions, runCrashTest } from "./crash-campaign.js";

// The quick form of `npm run test:crash --expect-zero`, seed 7 (CRASH_SEED overrides), part of
// `npm test`: the test itself worked (every event sent and accepted, the kills done) and every
// count is zero: nothing lost or duplicated, every killed run resumed to its end, every account
// balanced, every record equal to the broker.
describe("crash test (quick form): SIGKILLs of the rebalancer and the subscriber under live events", function () {
  this.timeout(240_000);

  it("loses, duplicates and leaves half-done nothing while the rebalancer is killed mid-sell and mid-buy and the subscriber once", async () => {
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
    expect(isClean(report.counts), text).to.equal(true);
  });
});

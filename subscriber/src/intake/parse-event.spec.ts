import { expect } from "chai";
import { parseEvent } from "./parse-event.js";

describe("parseEvent", () => {
  it("reads the early form: only execution=rebalance is live, anything else a dry run", () => {
    expect(parseEvent({ execution: "rebalance" })).to.deep.equal({
      ok: true,
      command: "rebalance",
    });
    expect(parseEvent({ execution: "dry_run" })).to.deep.equal({ ok: true, command: "dry-run" });
    expect(parseEvent({ execution: "REBALANCE" })).to.deep.equal({ ok: true, command: "dry-run" });
  });

  it("reads the later form with its event id, mapping every command", () => {
    const cases: [string, string][] = [
      ["rebalance", "rebalance"],
      ["print-rebalance", "dry-run"],
      ["print-positions", "print-positions"],
      ["print-equity", "print-equity"],
      ["print-orders", "print-orders"],
      ["cancel-orders", "cancel-orders"],
    ];
    for (const [exec, command] of cases) {
      expect(parseEvent({ exec, eventId: "e-1" })).to.deep.equal({
        ok: true,
        command,
        eventId: "e-1",
      });
    }
  });

  it("accepts data that arrives as JSON text", () => {
    expect(parseEvent('{"exec":"rebalance","eventId":"x"}')).to.deep.equal({
      ok: true,
      command: "rebalance",
      eventId: "x",
    });
  });

  it("rejects what it cannot read, with a reason, and keeps a usable event id", () => {
    expect(parseEvent("not json")).to.deep.equal({ ok: false, reason: "payload is not JSON" });
    expect(parseEvent([1])).to.include({ ok: false, reason: "payload must be a JSON object" });
    expect(parseEvent(null)).to.include({ ok: false });
    expect(parseEvent({ eventId: "e-2" })).to.deep.equal({
      ok: false,
      reason: "payload has neither exec nor execution",
      eventId: "e-2",
    });
    expect(parseEvent({ exec: "sell-everything", eventId: "e-3" })).to.include({
      ok: false,
      eventId: "e-3",
    });
    expect(parseEvent({ exec: 1 })).to.include({ ok: false, reason: "exec must be a string" });
    expect(parseEvent({ execution: true })).to.include({ ok: false });
    expect(parseEvent({ exec: "rebalance", eventId: "" })).to.include({ ok: false });
  });

  it("is strict: unknown fields, both forms at once and inherited names are refused by name", () => {
    expect(parseEvent({ exec: "rebalance", eventId: "a", idempotency_Key: "k" })).to.deep.equal({
      ok: false,
      reason: 'unknown field "idempotency_Key"',
      eventId: "a",
    });
    expect(parseEvent({ execution: "rebalance", mode: "live" })).to.include({
      reason: 'unknown field "mode"',
    });
    expect(parseEvent({ exec: "rebalance", execution: "rebalance" })).to.include({ ok: false });
    expect(parseEvent({ exec: "constructor" })).to.include({ ok: false });
    expect(parseEvent({ exec: "__proto__" })).to.include({ ok: false });
    const long = parseEvent({ exec: "x".repeat(10_000) });
    expect(long.ok === false && long.reason.length).to.be.below(200);
  });
});

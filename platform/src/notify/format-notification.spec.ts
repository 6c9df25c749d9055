import { expect } from "chai";
import { formatNotification } from "./format-notification.js";
import type { Notification } from "./notification.js";

const failed: Notification = {
  id: "run-1:failed",
  kind: "run",
  runId: "run-1",
  accountId: "DU1",
  mode: "live",
  status: "failed",
  failureReason: "order_rejected",
  title: "DU1: live run failed (order_rejected)",
  message: "SPY: rejected <no permission> & more",
  ordersPlaced: 3,
  ordersFilled: 1,
  trigger: { source: "ably", eventId: "evt-9", channel: "etf-blend" },
  consoleUrl: "https://ops.example.com/console/#/runs/run-1",
  occurredAt: "2026-12-07T12:00:00.000Z",
};

describe("formatNotification", () => {
  it("gives a plain webhook the notification as JSON, its id as the idempotency key", () => {
    const { headers, body } = formatNotification("json", failed);
    expect(headers).to.deep.equal({
      "content-type": "application/json",
      "idempotency-key": "run-1:failed",
    });
    expect(JSON.parse(body)).to.deep.equal(failed);
  });

  it("gives ntfy its headers by outcome and a plain-text body", () => {
    const { headers, body } = formatNotification("ntfy", failed);
    expect(headers).to.deep.equal({
      "content-type": "text/plain; charset=utf-8",
      title: "DU1: live run failed (order_rejected)",
      priority: "high",
      tags: "rotating_light,failed,live,DU1",
      click: failed.consoleUrl,
    });
    expect(body).to.equal(
      [
        "SPY: rejected <no permission> & more",
        "orders: 3 placed, 1 filled",
        "trigger: ably event evt-9 on etf-blend",
        failed.consoleUrl,
      ].join("\n"),
    );
    const postponed = formatNotification("ntfy", { ...failed, status: "postponed" }).headers;
    expect(postponed.priority).to.equal("default");
    const dead = formatNotification("ntfy", { ...failed, status: "dead_lettered", consoleUrl: "" });
    expect(dead.headers.priority).to.equal("default");
    expect(dead.headers).not.to.have.property("click");
    const completed = formatNotification("ntfy", { ...failed, status: "completed" }).headers;
    expect(completed.priority).to.equal("low");
  });

  it("keeps ntfy's header values to ASCII, which HTTP headers can carry", () => {
    const { headers } = formatNotification("ntfy", { ...failed, title: "DU1: run — failed ✗" });
    expect(headers.title).to.equal("DU1: run ? failed ?");
  });

  it("gives Slack one escaped `text`, the title linking to the console", () => {
    const { headers, body } = formatNotification("slack", failed);
    expect(headers).to.deep.equal({ "content-type": "application/json" });
    expect(JSON.parse(body)).to.deep.equal({
      text: [
        `*<${failed.consoleUrl}|DU1: live run failed (order_rejected)>*`,
        "SPY: rejected &lt;no permission&gt; &amp; more",
        "orders: 3 placed, 1 filled",
        "trigger: ably event evt-9 on etf-blend",
      ].join("\n"),
    });
  });
});

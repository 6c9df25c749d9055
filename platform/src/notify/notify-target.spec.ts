import { expect } from "chai";
import { NotifyUrlError, parseNotifyTarget } from "./notify-target.js";

describe("parseNotifyTarget", () => {
  it("posts ntfy:// over HTTPS, and ntfy+http:// over plain HTTP for a local server", () => {
    expect(parseNotifyTarget("ntfy://ntfy.sh/mesh-alerts")).to.include({
      format: "ntfy",
      url: "https://ntfy.sh/mesh-alerts",
      shown: "ntfy://ntfy.sh/mesh-alerts",
    });
    expect(parseNotifyTarget("ntfy+http://10.0.0.5:8080/ops")).to.include({
      format: "ntfy",
      url: "http://10.0.0.5:8080/ops",
    });
  });

  it("recognises Slack webhooks by host or by the slack+ prefix, and hides their path", () => {
    const slack = parseNotifyTarget("https://hooks.slack.com/services/T0001/B0002/AbCdEfGhIjKl");
    expect(slack).to.include({
      format: "slack",
      url: "https://hooks.slack.com/services/T0001/B0002/AbCdEfGhIjKl",
      shown: "https://hooks.slack.com/[redacted]",
    });
    expect(slack.secrets).to.include("AbCdEfGhIjKl").and.not.include("services");
    expect(parseNotifyTarget("slack+https://chat.example.com/hooks/xyz123abc")).to.include({
      format: "slack",
      url: "https://chat.example.com/hooks/xyz123abc",
      shown: "slack+https://chat.example.com/[redacted]",
    });
  });

  it("sends user:password as Basic authentication and keeps them and query values out of `shown`", () => {
    const target = parseNotifyTarget(
      "https://bot:p%40ss-w0rd@hooks.example.com/in?token=abc123&x=1",
    );
    expect(target).to.include({
      format: "json",
      url: "https://hooks.example.com/in?token=abc123&x=1",
      authorization: `Basic ${Buffer.from("bot:p@ss-w0rd").toString("base64")}`,
      shown: "https://[redacted]@hooks.example.com/in?token=[redacted]&x=[redacted]",
    });
    expect(target.secrets).to.include.members(["p@ss-w0rd", "p%40ss-w0rd", "abc123"]);
  });

  it("keys a target by a hash of its URL, never the URL itself", () => {
    const target = parseNotifyTarget("https://hooks.example.com/in?token=abc123");
    expect(target.key).to.match(/^[0-9a-f]{32}$/);
    expect(parseNotifyTarget("https://hooks.example.com/in?token=abc123").key).to.equal(target.key);
    expect(parseNotifyTarget("https://hooks.example.com/in?token=other1").key).not.to.equal(
      target.key,
    );
  });

  it("refuses what it cannot post to, without echoing credentials", () => {
    expect(() => parseNotifyTarget("mailto:ops@example.com")).to.throw(NotifyUrlError);
    expect(() => parseNotifyTarget("ftp://u:hunter22@example.com/x")).to.throw(
      NotifyUrlError,
      "ftp://[redacted]@example.com/x: must be http(s)://",
    );
    expect(() => parseNotifyTarget("ntfy://ntfy.sh/")).to.throw(NotifyUrlError, /needs a topic/);
  });
});

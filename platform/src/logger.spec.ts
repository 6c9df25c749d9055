import { Writable } from "node:stream";
import { expect } from "chai";
import { createLogger } from "./logger.js";

/** A destination collecting what the logger writes. */
function sink(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe("createLogger", () => {
  it("writes readable lines, one per event, with the local date, time and zone when pretty", () => {
    const out = sink();
    const logger = createLogger({ name: "svc", pretty: true, destination: out.stream });
    logger.info({ accountId: "DU1" }, "serving");
    const [line] = out.text().split("\n");
    const now = new Date();
    const date = [now.getFullYear(), now.getMonth() + 1, now.getDate()]
      .map((n) => String(n).padStart(2, "0"))
      .join("-");
    expect(line).to.match(
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] INFO \(svc\): serving \{"accountId":"DU1"\}$/,
    );
    expect(line).to.contain(date);
    // One line per event: its fields follow the message.
    expect(out.text().trim().split("\n")).to.have.length(1);
  });

  it("writes one JSON object per line otherwise", () => {
    const out = sink();
    createLogger({ name: "svc", destination: out.stream }).info({ accountId: "DU1" }, "serving");
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    expect(line).to.include({ name: "svc", msg: "serving", accountId: "DU1", level: 30 });
  });

  it("redacts configured secrets from readable lines too", () => {
    const out = sink();
    const logger = createLogger({
      name: "svc",
      pretty: true,
      destination: out.stream,
      secrets: ["s3cret-key"],
    });
    logger.warn({ detail: "refused s3cret-key" }, "upstream said s3cret-key");
    expect(out.text()).not.to.contain("s3cret-key");
  });
});

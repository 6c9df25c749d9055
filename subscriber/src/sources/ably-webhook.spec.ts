import { createHmac } from "node:crypto";
import { expect } from "chai";
import { readAblyWebhook, verifyAblySignature } from "./ably-webhook.js";

const key = "testapp.testkey:testsecret";
const sign = (body: Buffer, secret = "testsecret") =>
  createHmac("sha256", secret).update(body).digest("base64");

describe("Ably webhooks", () => {
  it("accepts a signature made with the key's secret and refuses any other", () => {
    const body = Buffer.from('{"items":[]}');
    expect(verifyAblySignature(body, sign(body), key)).to.equal(true);
    expect(verifyAblySignature(body, sign(body, "other"), key)).to.equal(false);
    expect(verifyAblySignature(Buffer.from('{"items":[1]}'), sign(body), key)).to.equal(false);
    expect(verifyAblySignature(body, undefined, key)).to.equal(false);
    expect(verifyAblySignature(body, "c2hvcnQ=", key)).to.equal(false);
  });

  it("reads the channel messages of an enveloped batch, decoding their data", () => {
    const body = Buffer.from(
      JSON.stringify({
        items: [
          {
            source: "channel.message",
            data: {
              channelId: "s1",
              messages: [
                { id: "a:0", timestamp: 5, data: '{"exec":"rebalance"}', encoding: "json" },
                {
                  id: "a:1",
                  data: Buffer.from('{"execution":"rebalance"}').toString("base64"),
                  encoding: "json/utf-8/base64",
                },
                { id: "a:2", data: "plain text" },
              ],
            },
          },
          { source: "channel.presence", data: { channelId: "s1", presence: [] } },
        ],
      }),
    );
    const read = readAblyWebhook(body);
    expect(read).to.deep.equal({
      ok: true,
      messages: [
        {
          channel: "s1",
          messageId: "a:0",
          data: { exec: "rebalance" },
          publishedAt: 5,
          source: "webhook",
        },
        { channel: "s1", messageId: "a:1", data: { execution: "rebalance" }, source: "webhook" },
        { channel: "s1", messageId: "a:2", data: "plain text", source: "webhook" },
      ],
      junk: [],
    });
  });

  it("refuses bodies that are not enveloped batches", () => {
    expect(readAblyWebhook(Buffer.from("nope"))).to.include({ ok: false, status: 400 });
    expect(readAblyWebhook(Buffer.from("{}"))).to.include({ ok: false, status: 400 });
    expect(readAblyWebhook(Buffer.from([0x7b, 0xff, 0x7d]))).to.include({ ok: false, status: 400 });
  });

  it("keeps the valid messages of a batch and reports each junk entry by position", () => {
    const good = { id: "g:0", data: '{"exec":"rebalance","eventId":"g"}', encoding: "json" };
    const body = {
      items: [
        null,
        { source: "channel.message", data: {} },
        {
          source: "channel.message",
          data: { channelId: "s1", messages: [null, 7, good, { id: 5 }, { encoding: 1 }] },
        },
      ],
    };
    const read = readAblyWebhook(Buffer.from(JSON.stringify(body)));
    expect(read.ok && read.messages.map((m) => m.messageId)).to.deep.equal(["g:0"]);
    expect(read.ok && read.junk.map((j) => j.at)).to.deep.equal([
      "items[0]",
      "items[1]",
      "items[2].data.messages[0]",
      "items[2].data.messages[1]",
      "items[2].data.messages[3]",
      "items[2].data.messages[4]",
    ]);
  });
});

import { expect } from "chai";
import { stays, until } from "./until.js";

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("until", () => {
  it("gives back the first truthy answer of the condition", async () => {
    let asked = 0;
    expect(await until(() => (++asked === 3 ? "ready" : undefined))).to.equal("ready");
    expect(asked).to.equal(3);
  });

  it("fails naming what was awaited once the time is up", async () => {
    const err = await rejection(until(() => false, 50, "the run done"));
    expect(err.message).to.equal("the run done not met within 50 ms");
  });
});

describe("stays", () => {
  it("fails as soon as what must hold no longer does", async () => {
    let asked = 0;
    const err = await rejection(stays(() => ++asked < 3, 5000, "one request"));
    expect(err.message).to.match(/^one request no longer held after \d+ ms$/);
    expect(asked).to.equal(3);
  });

  it("resolves when the condition held for the whole time", async () => {
    let asked = 0;
    await stays(() => ++asked > 0, 60, "nothing");
    expect(asked).to.be.greaterThan(1);
  });
});

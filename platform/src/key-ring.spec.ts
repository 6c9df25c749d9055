import { expect } from "chai";
import { createKeyRing } from "./key-ring.js";

describe("createKeyRing", () => {
  it("accepts a dropped key for the overlap, then no more", () => {
    let now = 1000;
    const ring = createKeyRing({ keys: ["old"], overlapMs: 30_000, now: () => now });
    ring.replace(["new"]);
    expect(ring.accepted()).to.have.members(["new", "old"]);
    now += 29_999;
    expect(ring.accepted()).to.include("old");
    now += 1;
    expect(ring.accepted()).to.deep.equal(["new"]);
  });

  it("drops a key at once without an overlap", () => {
    const ring = createKeyRing({ keys: ["old", "new"] });
    ring.replace(["new"]);
    expect(ring.accepted()).to.deep.equal(["new"]);
  });

  it("makes a retiring key current again when it comes back", () => {
    let now = 0;
    const ring = createKeyRing({ keys: ["a"], overlapMs: 10, now: () => now });
    ring.replace(["b"]);
    ring.replace(["a", "b"]);
    now = 100;
    expect(ring.accepted()).to.have.members(["a", "b"]);
  });
});

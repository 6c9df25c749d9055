import { expect } from "chai";
import {
  floorShares,
  roundMoney,
  roundWeight,
  sharesFor,
  sumMoney,
  toCents,
  valueOf,
} from "./money.js";

describe("money", () => {
  describe("roundMoney", () => {
    it("rounds to cents, half away from zero", () => {
      expect(roundMoney(0.125)).to.equal(0.13);
      expect(roundMoney(-0.125)).to.equal(-0.13);
      expect(roundMoney(0.124)).to.equal(0.12);
      expect(roundMoney(-0.126)).to.equal(-0.13);
    });

    it("rounds a decimal half stored just below it (1.005, 2.675) as written", () => {
      expect(roundMoney(1.005)).to.equal(1.01);
      expect(roundMoney(-1.005)).to.equal(-1.01);
      expect(roundMoney(2.675)).to.equal(2.68);
      expect(roundMoney(1234567.895)).to.equal(1234567.9);
    });

    it("removes float noise such as 0.1 + 0.2", () => {
      expect(roundMoney(0.1 + 0.2)).to.equal(0.3);
      expect(roundMoney(3 * 19.99)).to.equal(59.97);
    });

    it("does not round up an amount just under a half cent", () => {
      expect(roundMoney(1.004999)).to.equal(1);
    });

    it("never returns negative zero", () => {
      expect(Object.is(roundMoney(-0.004), 0)).to.equal(true);
      expect(Object.is(roundMoney(-0), 0)).to.equal(true);
    });
  });

  describe("roundWeight", () => {
    it("drops float noise: 0.6000000000000001 is 0.6, 0.1 + 0.2 is 0.3", () => {
      expect(roundWeight(0.6000000000000001)).to.equal(0.6);
      expect(roundWeight(0.1 + 0.2)).to.equal(0.3);
    });

    it("keeps 6 decimal places, half away from zero, never -0", () => {
      expect(roundWeight(0.1234565)).to.equal(0.123457);
      expect(roundWeight(0.1234564)).to.equal(0.123456);
      expect(roundWeight(-0.0000004)).to.equal(0);
      expect(Object.is(roundWeight(-0.0000004), -0)).to.equal(false);
      expect(roundWeight(-0.25)).to.equal(-0.25);
    });
  });

  describe("floorShares", () => {
    it("rounds share counts down to whole shares", () => {
      expect(floorShares(3.5)).to.equal(3);
      expect(floorShares(0.999)).to.equal(0);
      expect(floorShares(0)).to.equal(0);
    });

    it("counts 2.9999999997 as 3: within 1e-9 of the integer", () => {
      expect(floorShares(2.9999999997)).to.equal(3);
    });

    it("counts 2.999999998 as 2: more than 1e-9 below the integer", () => {
      expect(floorShares(2.999999998)).to.equal(2);
    });
  });

  describe("sharesFor", () => {
    it("buys the shares a division lands on despite float error (0.3 / 0.1, 0.7 / 0.1)", () => {
      expect(0.3 / 0.1).to.be.below(3); // the float error this rule exists for
      expect(sharesFor(0.3, 0.1)).to.equal(3);
      expect(0.7 / 0.1).to.be.below(7);
      expect(sharesFor(0.7, 0.1)).to.equal(7);
    });

    it("never buys a share the money does not fully pay for", () => {
      expect(sharesFor(99.99, 33.34)).to.equal(2);
      expect(sharesFor(100.02, 33.34)).to.equal(3);
    });

    it("gives 0 shares for no money or negative money", () => {
      expect(sharesFor(0, 10)).to.equal(0);
      expect(sharesFor(-50, 10)).to.equal(0);
    });
  });

  describe("valueOf and sums", () => {
    it("values quantity x price in cents", () => {
      expect(valueOf(3, 0.1)).to.equal(0.3);
      expect(valueOf(7, 19.99)).to.equal(139.93);
      expect(valueOf(1, 0.015)).to.equal(0.02);
    });

    it("sums money in whole cents without accumulating float error", () => {
      expect(sumMoney(Array.from({ length: 10 }, () => 0.1))).to.equal(1);
      expect(sumMoney([0.1, 0.2])).to.equal(0.3);
      expect(toCents(19.99)).to.equal(1999);
    });
  });
});

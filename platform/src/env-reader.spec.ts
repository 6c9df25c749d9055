import { expect } from "chai";
import { EnvReader } from "./env-reader.js";

describe("EnvReader", () => {
  it("gives defaults for unset and empty variables", () => {
    const read = new EnvReader({ EMPTY: " " });
    expect(read.text("EMPTY", "x")).to.equal("x");
    expect(read.integer("UNSET", 7, 0, 10)).to.equal(7);
    expect(read.list("UNSET")).to.deep.equal([]);
    expect(read.problems).to.deep.equal([]);
  });

  it("collects every problem, naming the variable and what it got", () => {
    const read = new EnvReader({ MODE: "real", PORT: "8.5", RATIO: "2", HOSTS: "a, ,b" });
    expect(read.choice("MODE", ["paper", "live"], "paper")).to.equal("paper");
    expect(read.integer("PORT", 1, 0, 65535)).to.equal(1);
    expect(read.number("RATIO", 0.5, 0, 1)).to.equal(0.5);
    expect(read.list("HOSTS")).to.deep.equal(["a", "b"]);
    expect(read.problems).to.deep.equal([
      'MODE: must be paper or live, got "real"',
      'PORT: must be a whole number between 0 and 65535, got "8.5"',
      'RATIO: must be a number between 0 and 1, got "2"',
    ]);
  });

  it("records an unreadable secret file as a problem", () => {
    const read = new EnvReader({ KEY_FILE: "/nonexistent/key" });
    expect(read.secret("KEY")).to.equal(undefined);
    expect(read.problems).to.deep.equal(["KEY_FILE: cannot read /nonexistent/key: ENOENT"]);
  });

  it("takes plain decimal numbers only", () => {
    const read = new EnvReader({ A: "0x46AE", B: "1.807e4", C: "1.5", D: "-2", E: "12.25" });
    expect(read.integer("A", 1, 0, 1e6)).to.equal(1);
    expect(read.integer("B", 1, 0, 1e6)).to.equal(1);
    expect(read.integer("C", 1, 0, 10)).to.equal(1);
    expect(read.integer("D", 1, -5, 10)).to.equal(-2);
    expect(read.number("E", 1, 0, 100)).to.equal(12.25);
    expect(read.problems.map((p) => p.split(":")[0])).to.deep.equal(["A", "B", "C"]);
  });

  it("reads durations with a unit, or plain seconds, within bounds", () => {
    const read = new EnvReader({
      A: "90s",
      B: "30m",
      C: "2h",
      D: "45",
      E: "0",
      F: "1.5m",
      G: "3d",
      H: "25h",
    });
    expect(read.duration("A", 1, 0, 86_400_000)).to.equal(90_000);
    expect(read.duration("B", 1, 0, 86_400_000)).to.equal(1_800_000);
    expect(read.duration("C", 1, 0, 86_400_000)).to.equal(7_200_000);
    expect(read.duration("D", 1, 0, 86_400_000)).to.equal(45_000);
    expect(read.duration("E", 1, 0, 86_400_000)).to.equal(0);
    expect(read.duration("UNSET", 123, 0, 86_400_000)).to.equal(123);
    expect(read.duration("F", 1, 0, 86_400_000)).to.equal(1);
    expect(read.duration("G", 1, 0, 86_400_000)).to.equal(1);
    expect(read.duration("H", 1, 0, 86_400_000)).to.equal(1);
    expect(read.problems).to.deep.equal([
      'F: must be a duration such as 90s, 30m or 2h (a plain number is seconds) between 0s and 24h, got "1.5m"',
      'G: must be a duration such as 90s, 30m or 2h (a plain number is seconds) between 0s and 24h, got "3d"',
      'H: must be a duration such as 90s, 30m or 2h (a plain number is seconds) between 0s and 24h, got "25h"',
    ]);
  });

  it("resolves relative paths, secret files included, from the folder the command ran in", () => {
    const env = {
      ACCOUNTS_FILE: "conf/accounts.yaml",
      DATA_DIR: "/var/lib/mesh",
      KEY_FILE: "secrets/none",
      INIT_CWD: "/srv/mesh",
      npm_package_json: "/srv/mesh/rebalancer/package.json",
    };
    const read = new EnvReader(env, "/srv/mesh/rebalancer");
    expect(read.path("ACCOUNTS_FILE", "./accounts.yaml")).to.equal("/srv/mesh/conf/accounts.yaml");
    expect(read.path("DATA_DIR", "./data")).to.equal("/var/lib/mesh");
    expect(read.path("UNSET", "./data")).to.equal("/srv/mesh/data");
    expect(read.optionalPath("UNSET")).to.equal(undefined);
    expect(read.secret("KEY")).to.equal(undefined);
    expect(read.problems).to.deep.equal(["KEY_FILE: cannot read /srv/mesh/secrets/none: ENOENT"]);
  });
});

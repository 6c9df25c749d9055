import { expect } from "chai";
import { callerFolder } from "./caller-folder.js";

describe("callerFolder", () => {
  it("is the folder npm was started in while a workspace script runs in its package's folder", () => {
    const env = { INIT_CWD: "/srv/mesh", npm_package_json: "/srv/mesh/rebalancer/package.json" };
    expect(callerFolder(env, "/srv/mesh/rebalancer")).to.equal("/srv/mesh");
  });

  it("is the working folder without npm", () => {
    expect(callerFolder({}, "/home/me/mesh")).to.equal("/home/me/mesh");
  });

  it("is the working folder of a process started elsewhere that inherited npm's variables", () => {
    const env = { INIT_CWD: "/srv/mesh", npm_package_json: "/srv/mesh/package.json" };
    expect(callerFolder(env, "/tmp/scratch")).to.equal("/tmp/scratch");
  });
});

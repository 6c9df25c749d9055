import { expect } from "chai";
import { parseRoute, routeHref, type Route } from "../src/route.js";

describe("console routes", () => {
  const routes: Route[] = [
    { page: "accounts" },
    { page: "holdings", accountId: "DU1000001" },
    { page: "preview", accountId: "DU1000001" },
    { page: "run", accountId: "DU 1/2" },
    { page: "runs", accountId: "DU1000002" },
    { page: "orders", accountId: "DU1000002" },
    { page: "run-detail", runId: "run-0d3c" },
    { page: "events" },
    { page: "dead-letters" },
  ];
  for (const route of routes) {
    it(`reads back the link of ${JSON.stringify(route)}`, () => {
      expect(parseRoute(routeHref(route))).to.deep.equal(route);
    });
  }

  it("shows the accounts for an empty or unknown fragment", () => {
    for (const hash of [
      "",
      "#",
      "#/",
      "#/nowhere",
      "#/accounts/DU1/delete",
      "#/runs",
      "#/events/1",
    ]) {
      expect(parseRoute(hash)).to.deep.equal({ page: "accounts" });
    }
  });
});

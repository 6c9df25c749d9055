import { parseAccounts, type Account } from "@mesh/platform/accounts";
import { expect } from "chai";
import { AllocationError } from "./allocation-error.js";
import { createAllocationProvider, type AllocationProvider } from "./allocation-provider.js";
import type { Allocations } from "./allocations.js";

const accounts = parseAccounts(
  `accounts:
  - { account_id: DU1, strategy: etf-blend-301-20, allocation_url: "https://alloc.example/{strategy}" }
  - { account_id: DU2, strategy: etf-blend-200-35, allocation_url: "file:/tmp/{strategy}.yaml" }
`,
  "test.yaml",
).accounts;
const [httpAccount, fileAccount] = accounts as [Account, Account];

function fake(name: string, ok = true): AllocationProvider & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async targets(account): Promise<Allocations> {
      asked.push(account.accountId);
      return { strategy: account.strategy, targets: [{ symbol: name, weight: 1 }], asOf: "" };
    },
    health: () => ({ ok, detail: `${name} detail` }),
  };
}

describe("createAllocationProvider", () => {
  it("asks the HTTP source for http accounts and the file source for file accounts", async () => {
    const http = fake("HTTP");
    const file = fake("FILE");
    const provider = createAllocationProvider({ http, file });
    expect((await provider.targets(httpAccount)).targets[0]!.symbol).to.equal("HTTP");
    expect((await provider.targets(fileAccount)).targets[0]!.symbol).to.equal("FILE");
    expect(http.asked).to.deep.equal(["DU1"]);
    expect(file.asked).to.deep.equal(["DU2"]);
  });

  it("fails an account whose kind of source is not configured, saying so", async () => {
    const provider = createAllocationProvider({ file: fake("FILE") });
    try {
      await provider.targets(httpAccount);
      expect.fail("expected a refusal");
    } catch (err) {
      expect(err).to.be.instanceOf(AllocationError);
      expect((err as AllocationError).code).to.equal("unavailable");
      expect((err as Error).message).to.equal(
        "account DU1 takes its allocations from an HTTP API, but no http allocation source is configured",
      );
    }
  });

  it("is healthy only when every configured source is, and says which is not", () => {
    expect(createAllocationProvider({ http: fake("A"), file: fake("B") }).health()).to.deep.equal({
      ok: true,
      detail: "http: A detail; file: B detail",
    });
    expect(
      createAllocationProvider({ http: fake("A", false), file: fake("B") }).health().ok,
    ).to.equal(false);
    expect(createAllocationProvider({}).health()).to.deep.equal({
      ok: false,
      detail: "no allocation source configured",
    });
  });
});

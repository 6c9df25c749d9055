import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "chai";
import { createApiKeyGate } from "../src/api-key-gate.js";
import { createApiKeyStore } from "../src/api-key-store.js";

/** A Storage kept in a Map, as sessionStorage behaves. */
function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, value),
  };
}

const unauthenticated = () =>
  new ConnectError("ListAccounts needs an API key", Code.Unauthenticated);

/** A call the server accepts only with `key`, recording the key each attempt carried. */
function callNeeding(
  key: string,
  keys: { get(): string | undefined },
  seen: (string | undefined)[],
) {
  return async () => {
    seen.push(keys.get());
    if (keys.get() !== key) throw unauthenticated();
    return "answer";
  };
}

describe("the API key gate", () => {
  it("asks for the key on an unauthenticated answer, keeps it and retries", async () => {
    const keys = createApiKeyStore(memoryStorage());
    const problems: string[] = [];
    const withApiKey = createApiKeyGate(keys, async (problem) => {
      problems.push(problem);
      return "k1";
    });
    const seen: (string | undefined)[] = [];
    expect(await withApiKey(callNeeding("k1", keys, seen))).to.equal("answer");
    expect(seen).to.deep.equal([undefined, "k1"]);
    expect(problems).to.deep.equal(["The rebalancer needs an API key."]);
    expect(keys.get()).to.equal("k1");
  });

  it("forgets a refused key and says it was not accepted", async () => {
    const keys = createApiKeyStore(memoryStorage());
    keys.set("old");
    const problems: string[] = [];
    const withApiKey = createApiKeyGate(keys, async (problem) => {
      problems.push(problem);
      expect(keys.get()).to.equal(undefined);
      return "new";
    });
    await withApiKey(callNeeding("new", keys, []));
    expect(problems).to.deep.equal(["The API key was not accepted. Enter a valid key."]);
  });

  it("asks once for calls refused together", async () => {
    const keys = createApiKeyStore(memoryStorage());
    let asked = 0;
    const withApiKey = createApiKeyGate(keys, async () => {
      asked += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return "k";
    });
    const answers = await Promise.all([1, 2, 3].map(() => withApiKey(callNeeding("k", keys, []))));
    expect(answers).to.deep.equal(["answer", "answer", "answer"]);
    expect(asked).to.equal(1);
  });

  it("gives back the server's error when the person declines", async () => {
    const keys = createApiKeyStore(memoryStorage());
    const withApiKey = createApiKeyGate(keys, async () => undefined);
    const error = await withApiKey(callNeeding("k", keys, [])).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).to.equal(Code.Unauthenticated);
    expect(keys.get()).to.equal(undefined);
  });

  it("passes other errors through without asking", async () => {
    const keys = createApiKeyStore(memoryStorage());
    let asked = false;
    const withApiKey = createApiKeyGate(keys, async () => {
      asked = true;
      return "k";
    });
    const failing = () =>
      Promise.reject(new ConnectError("account DU9 is not configured", Code.NotFound));
    const error = await withApiKey(failing).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).to.equal(Code.NotFound);
    expect(asked).to.equal(false);
  });
});

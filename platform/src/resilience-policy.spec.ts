import { BrokenCircuitError, CircuitState, TaskCancelledError } from "cockatiel";
import { expect } from "chai";
import { createResiliencePolicy } from "./resilience-policy.js";

class Permanent extends Error {}

const fast = { initialBackoffMs: 1, maxBackoffMs: 2, timeoutMs: 1000 };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("createResiliencePolicy", () => {
  it("retries a transient failure up to the attempts, then gives the last error", async () => {
    const { policy } = createResiliencePolicy({ ...fast, attempts: 3 });
    let calls = 0;
    const err = await rejection(
      policy.execute(() => {
        calls++;
        throw new Error(`down ${calls}`);
      }),
    );
    expect(calls).to.equal(3);
    expect((err as Error).message).to.equal("down 3");
  });

  it("hands a failure that is not transient to the caller at once, circuit untouched", async () => {
    const { policy, breaker } = createResiliencePolicy({
      ...fast,
      attempts: 3,
      breakerThreshold: 1,
      isTransient: (err) => !(err instanceof Permanent),
    });
    let calls = 0;
    const err = await rejection(
      policy.execute(() => {
        calls++;
        throw new Permanent("refused");
      }),
    );
    expect(err).to.be.instanceOf(Permanent);
    expect(calls).to.equal(1);
    expect(breaker.state).to.equal(CircuitState.Closed);
  });

  it("opens the circuit after consecutive failures and fails fast without retrying", async () => {
    const { policy, breaker } = createResiliencePolicy({
      ...fast,
      attempts: 1,
      breakerThreshold: 2,
    });
    let calls = 0;
    const failing = () => {
      calls++;
      throw new Error("down");
    };
    await rejection(policy.execute(failing));
    await rejection(policy.execute(failing));
    expect(breaker.state).to.equal(CircuitState.Open);
    const { policy: retrying } = createResiliencePolicy({
      ...fast,
      attempts: 5,
      breakerThreshold: 1,
    });
    await rejection(retrying.execute(failing));
    calls = 0;
    expect(await rejection(retrying.execute(failing))).to.be.instanceOf(BrokenCircuitError);
    expect(calls).to.equal(0);
  });

  it("cuts an attempt after the timeout, aborting its signal", async () => {
    const { policy } = createResiliencePolicy({ ...fast, attempts: 1, timeoutMs: 20 });
    let aborted = false;
    const err = await rejection(
      policy.execute(
        ({ signal }) =>
          // Never settles by itself: only the timeout ends it.
          new Promise(() => signal.addEventListener("abort", () => (aborted = true))),
      ),
    );
    expect(err).to.be.instanceOf(TaskCancelledError);
    expect(aborted).to.equal(true);
  });
});

import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  HealthStatus,
  RebalanceResponseSchema,
  RebalancerService,
  RunStatus,
  type RebalanceRequest,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";

/** What the double does with one new Rebalance request. */
export type RebalanceBehaviour =
  | { kind: "complete" }
  /** Refuse the call with a Connect code, before any run exists. */
  | { kind: "error"; code: Code; message?: string }
  /** Finish the run as postponed until `at`. */
  | { kind: "postpone"; at: number }
  /** Accept the run and never finish it (the call stays open until cancelled). */
  | { kind: "hang" }
  /** Accept the run and complete it after `ms`. */
  | { kind: "delay"; ms: number }
  /**
   * Accept the run, then hand it over as a stopping rebalancer does (`suspended`, the stream
   * ends); a repeat of its key finds it resumed and completed.
   */
  | { kind: "handover" };

/** Options of startFakeRebalancer. */
export interface FakeRebalancerOptions {
  /** Port to listen on; default a free one (use the same one to come back after stop()). */
  port?: number;
  /** Required bearer key; unset accepts any caller. */
  apiKey?: string;
}

/**
 * A protocol-level double of our own RebalancerService, over gRPC on HTTP/2 like the real one:
 * it records every request, honours idempotency keys (a repeated key replays the run, never a
 * second run), and can be told to fail, postpone or hang.
 */
export interface FakeRebalancer {
  url: string;
  port: number;
  /** Every Rebalance request received, in order. */
  requests: RebalanceRequest[];
  /** Runs created, by idempotency key (repeats do not add). */
  runs: Map<string, RebalanceResponse[]>;
  /** Accounts with a delayed run in progress; the most runs seen at once, overall and per account. */
  active: string[];
  maxActive: number;
  maxPerAccount: number;
  /** Other RPCs received, by method name. */
  calls: string[];
  /** Decides what the next new runs do; default: complete. */
  behaviour: (request: RebalanceRequest) => RebalanceBehaviour;
  /** Stops listening and cuts open connections (the rebalancer "goes down"). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

export async function startFakeRebalancer(
  options: FakeRebalancerOptions = {},
): Promise<FakeRebalancer> {
  const fake: FakeRebalancer = {
    url: "",
    port: 0,
    requests: [],
    runs: new Map(),
    calls: [],
    active: [],
    maxActive: 0,
    maxPerAccount: 0,
    behaviour: () => ({ kind: "complete" }),
    stop: async () => {},
    restart: async () => {},
  };
  let runCounter = 0;

  type EventInit = MessageInitShape<typeof RebalanceResponseSchema>;
  const event = (runId: string, sequence: number, value: EventInit) =>
    create(RebalanceResponseSchema, { runId, sequence, time: timestampNow(), ...value });

  const completedEvent: EventInit = {
    event: { case: "completed", value: { status: RunStatus.COMPLETED, message: "done" } },
  };

  const authorize = (header: Headers) => {
    if (options.apiKey && header.get("authorization") !== `Bearer ${options.apiKey}`) {
      throw new ConnectError("missing or wrong API key", Code.Unauthenticated);
    }
  };

  const routes = (router: ConnectRouter) =>
    router.service(RebalancerService, {
      async *rebalance(request, context) {
        authorize(context.requestHeader);
        fake.requests.push(request);
        const existing = fake.runs.get(request.idempotencyKey);
        if (existing) {
          for (const e of existing) yield { ...e, replayed: true };
          const last = existing.at(-1);
          if (last?.event.case === "suspended") {
            // Resumed by the rebalancer's next start: the repeat follows it to its outcome.
            const resumed = [
              event(last.runId, existing.length + 1, {
                event: { case: "resumed", value: { message: "continuing" } },
              }),
              event(last.runId, existing.length + 2, completedEvent),
            ];
            existing.push(...resumed);
            yield* resumed;
          }
          return;
        }
        const behaviour = fake.behaviour(request);
        if (behaviour.kind === "error") {
          throw new ConnectError(behaviour.message ?? "refused by the double", behaviour.code);
        }
        const runId = `run-${++runCounter}`;
        const events: RebalanceResponse[] = [];
        fake.runs.set(request.idempotencyKey, events);
        const emit = (value: EventInit) => {
          const e = event(runId, events.length + 1, value);
          events.push(e);
          return e;
        };
        yield emit({
          event: {
            case: "accepted",
            value: {
              accountId: request.accountId,
              mode: request.mode,
              idempotencyKey: request.idempotencyKey,
            },
          },
        });
        if (behaviour.kind === "hang") {
          // Like the real service, the run goes on when its caller disappears: it completes
          // server-side, and a repeat of the key replays it.
          await new Promise((_, reject) =>
            context.signal.addEventListener("abort", () => {
              emit(completedEvent);
              reject(context.signal.reason);
            }),
          );
        }
        if (behaviour.kind === "delay") {
          fake.active.push(request.accountId);
          fake.maxActive = Math.max(fake.maxActive, fake.active.length);
          const same = fake.active.filter((a) => a === request.accountId).length;
          fake.maxPerAccount = Math.max(fake.maxPerAccount, same);
          await new Promise((resolve) => setTimeout(resolve, behaviour.ms));
          fake.active.splice(fake.active.indexOf(request.accountId), 1);
        }
        if (behaviour.kind === "handover") {
          yield emit({
            event: { case: "suspended", value: { message: "handed over at shutdown" } },
          });
          return;
        }
        if (behaviour.kind === "postpone") {
          yield emit({
            event: {
              case: "postponed",
              value: {
                nextAttemptAt: timestampFromMs(behaviour.at),
                message: "market closed",
              },
            },
          });
          return;
        }
        yield emit(completedEvent);
      },
      async listAccounts(_request, context) {
        authorize(context.requestHeader);
        fake.calls.push("listAccounts");
        return { accounts: [] };
      },
      async getPositions(request, context) {
        authorize(context.requestHeader);
        fake.calls.push("getPositions");
        return { accountId: request.accountId, positions: [], netLiquidation: 1000 };
      },
      async getAccountValue(request, context) {
        authorize(context.requestHeader);
        fake.calls.push("getAccountValue");
        return { accountId: request.accountId, netLiquidation: 1000, cash: 10, currency: "USD" };
      },
      async listOpenOrders(_request, context) {
        authorize(context.requestHeader);
        fake.calls.push("listOpenOrders");
        return { orders: [] };
      },
      async cancelOpenOrders(_request, context) {
        authorize(context.requestHeader);
        fake.calls.push("cancelOpenOrders");
        return { cancelled: [], remaining: [] };
      },
      async getHealth() {
        return { status: HealthStatus.SERVING, components: [] };
      },
    });

  let server: Http2Server;
  const sessions = new Set<ServerHttp2Session>();
  const listen = async (port: number) => {
    server = createServer(connectNodeAdapter({ routes }));
    server.on("session", (session) => {
      sessions.add(session);
      session.on("close", () => sessions.delete(session));
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  };
  fake.port = await listen(options.port ?? 0);
  fake.url = `http://127.0.0.1:${fake.port}`;
  fake.stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of sessions) session.destroy();
    await closed;
  };
  fake.restart = async () => {
    await listen(fake.port);
  };
  return fake;
}

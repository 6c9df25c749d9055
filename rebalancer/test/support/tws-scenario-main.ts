// The TWS test server with the scenario's account, as its own process, for tests that run the
// rebalancer's replicas as processes (each connects to it with its own client id). Prints one
// JSON line {"port", "statePort"} once listening; GET http://127.0.0.1:<statePort>/state answers
// what the server holds (orders, executions, the account, prices). Options by environment:
// TWS_FILL_INTERVAL_MS (delay before each execution; default 10), TWS_FILL_PARTS (default 2),
// TWS_ACCOUNTS (a comma-separated list of account ids, each with the scenario's cash and
// holdings; default DU111111 alone).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { scenarioAccount, startTwsScenario } from "./rebalancer-against-tws.js";
import type { TwsServerState } from "./tws-server-state.js";

const accountIds = process.env.TWS_ACCOUNTS?.split(",");
const tws = await startTwsScenario({
  fillIntervalMs: Number(process.env.TWS_FILL_INTERVAL_MS ?? 10),
  fillParts: Number(process.env.TWS_FILL_PARTS ?? 2),
  ...(accountIds && { accounts: accountIds.map((accountId) => scenarioAccount(accountId)) }),
});
const { market } = tws;

const state = (): TwsServerState => ({
  clientIds: tws.clientIds(),
  orders: market.orders.map((o) => ({ ...o })),
  executions: market.executions.map((e) => ({
    ...e,
    order: { ...e.order },
    time: e.time.toISOString(),
  })),
  accounts: [...market.accounts.values()].map((a) => ({
    accountId: a.accountId,
    cash: a.cash,
    netLiquidation: market.netLiquidation(a),
    positions: Object.fromEntries([...a.positions].map(([s, p]) => [s, p.quantity])),
  })),
  // Valued as the server values the account (last, else close).
  prices: Object.fromEntries(
    [...market.instruments.values()].map((i) => [
      i.symbol,
      [i.last, i.close].find((p) => p > 0) ?? 0,
    ]),
  ),
});

const http = createServer((req, res) => {
  if (req.url !== "/state") return void res.writeHead(404).end();
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(state()));
});
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
const statePort = (http.address() as AddressInfo).port;
process.stdout.write(`${JSON.stringify({ port: tws.port, statePort })}\n`);

const stop = () => {
  http.close();
  void tws.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

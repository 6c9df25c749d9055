// Child process of the footprint benchmark (see spawn-service.ts): starts one service the way
// its composition root does, minus the telemetry exporters, and answers the parent's requests.
//   node --import tsx bench/private/service-process.ts <rebalancer|subscriber|bare> '<settings>'
// Services are imported when started, so that the bare process loads none of their code.
import type {
  ServiceReply,
  ServiceRequest,
  ServiceRole,
  ServiceSettings,
} from "./spawn-service.js";

const role = process.argv[2] as ServiceRole;
const settings = JSON.parse(process.argv[3] ?? "{}") as ServiceSettings;
const reply = (message: ServiceReply) => process.send?.(message);

interface StartedService {
  url: string;
  close(): Promise<void>;
  /** Orders placed at the simulated broker so far (rebalancer). */
  ordersPlaced?(): number;
}

async function start(): Promise<StartedService> {
  switch (role) {
    case "rebalancer": {
      const { startRebalancer } = await import("@mesh/rebalancer/app");
      const { createSimBroker } = await import("@mesh/rebalancer/broker/sim/sim-broker");
      const sim = createSimBroker({ file: settings.simStateFile, fillDelayMs: 1 });
      let ordersPlaced = 0;
      const rebalancer = await startRebalancer({
        accountsFile: settings.accountsFile!,
        dataDir: settings.dataDir!,
        broker: {
          ...sim,
          placeOrder: (request) => {
            ordersPlaced++;
            return sim.placeOrder(request);
          },
        },
        host: "127.0.0.1",
        port: 0,
      });
      return {
        url: rebalancer.url,
        close: async () => void (await rebalancer.close(1000)),
        ordersPlaced: () => ordersPlaced,
      };
    }
    case "subscriber": {
      const { startSubscriber } = await import("../../subscriber/src/app.js");
      const { loadConfig } = await import("../../subscriber/src/config.js");
      const subscriber = await startSubscriber(
        loadConfig({
          ACCOUNTS_FILE: settings.accountsFile,
          DATA_DIR: settings.dataDir,
          REBALANCER_API_URL: settings.rebalancerUrl,
          SUBSCRIBER_HOST: "127.0.0.1",
          SUBSCRIBER_PORT: "0",
          LOG_LEVEL: "silent",
        }),
      );
      return { url: subscriber.url, close: () => subscriber.close() };
    }
    case "bare":
      return { url: "", close: async () => undefined };
    default:
      throw new Error(`unknown role ${String(role)}`);
  }
}

try {
  const service = await start();
  process.on("message", (request: ServiceRequest) => {
    switch (request.kind) {
      case "memory": {
        const { rss, heapUsed } = process.memoryUsage();
        return reply({ kind: "memory", rss, heapUsed });
      }
      case "heap":
        globalThis.gc?.();
        return reply({ kind: "heap", heapUsed: process.memoryUsage().heapUsed });
      case "orders":
        return reply({ kind: "orders", placed: service.ordersPlaced?.() ?? 0 });
      case "stop":
        void service.close().finally(() => process.exit(0));
        return;
    }
  });
  // Without the parent there is nothing left to do.
  process.on("disconnect", () => void service.close().finally(() => process.exit(0)));
  reply({ kind: "ready", url: service.url });
} catch (err) {
  reply({ kind: "failed", message: (err as Error).message });
  process.exit(1);
}

// Import boundaries, checked by `npm run lint` (dependency-cruiser): the folders are the
// architecture, so the build fails when an import crosses one the wrong way.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "Imports flow one way; a loop means a shared type wants its own file.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "planning-is-pure",
      comment: "Planning is plain data in, a plan out: it imports nothing outside itself.",
      severity: "error",
      from: { path: "^rebalancer/src/planning/", pathNot: "\\.spec\\.ts$" },
      to: { pathNot: "^rebalancer/src/planning/" },
    },
    {
      name: "execution-speaks-plain-data",
      comment:
        "Execution takes plain inputs and tells plain domain events: no Protobuf, no Connect. The contract's forms are made in runs/ and service/.",
      severity: "error",
      from: { path: "^rebalancer/src/execution/", pathNot: "\\.spec\\.ts$" },
      to: {
        path: "^(@mesh/proto|proto/gen)/|(^|/)node_modules/(@mesh/proto|@bufbuild|@connectrpc)/",
      },
    },
    {
      name: "rebalancer-below-server",
      comment:
        "The rebalancer's layers import downwards: server/ > service/ > runs/, accounts/ > execution/. Nothing below server/ imports it.",
      severity: "error",
      from: { path: "^rebalancer/src/(service|runs|accounts|execution)/" },
      to: { path: "^rebalancer/src/server/" },
    },
    {
      name: "runs-below-service",
      comment:
        "runs/ and accounts/ raise typed refusals; service/ alone turns them into RPC errors.",
      severity: "error",
      from: { path: "^rebalancer/src/(runs|accounts|execution)/", pathNot: "\\.spec\\.ts$" },
      to: { path: "^rebalancer/src/service/|(^|/)node_modules/@connectrpc/" },
    },
    {
      name: "execution-below-runs",
      comment: "Execution tells runs/ its events: it imports neither runs/ nor accounts/.",
      severity: "error",
      from: { path: "^rebalancer/src/execution/" },
      to: { path: "^rebalancer/src/(runs|accounts)/" },
    },
    {
      name: "no-foreign-private",
      comment: "A folder's private/ is for that folder (and its own private files) only.",
      severity: "error",
      from: { path: "^(.*?)(/private)?/[^/]+$" },
      to: { path: "/private/", pathNot: "^$1/private/" },
    },
    {
      name: "config-is-a-root",
      comment:
        "A service's config.ts reads the environment for everything below it: it imports none of its folders (they may import its types).",
      severity: "error",
      from: { path: "^(rebalancer|subscriber)/src/config\\.ts$" },
      to: { path: "^$1/src/[^/]+/" },
    },
    {
      name: "logger-through-platform",
      comment: "pino is configured once (redaction, trace ids): use @mesh/platform/logger.",
      severity: "error",
      from: { pathNot: "^platform/src/logger\\.ts$" },
      to: { path: "node_modules/pino/" },
    },
  ],
  options: {
    doNotFollow: { path: "(^|/)(node_modules|proto/gen)/" },
    // A workspace's build output; packages' own dist/ files stay, so rules can name packages.
    exclude: { path: "^[^/]+/dist/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    combinedDependencies: true,
  },
};

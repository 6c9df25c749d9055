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
    exclude: { path: "(^|/)dist/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    combinedDependencies: true,
  },
};

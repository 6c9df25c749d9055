import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createPostgresPool } from "@mesh/platform/postgres-pool";
import type { RebalancerConfig } from "../config.js";
import { copySqliteRuns, RunStoreNotEmptyError } from "../runs/copy-sqlite-runs.js";
import { migrateRunStore } from "../runs/postgres-run-store.js";

const usage = `usage: DATABASE_URL=postgres://… npm run db:copy -w rebalancer -- [<sqlite file>]
  copies the SQLite run store (default: runs.sqlite in DATA_DIR) into the empty PostgreSQL
  run store of DATABASE_URL: runs, their records and journals`;

/** Options of copyRunsCommand. */
export interface CopyRunsCommandOptions {
  /** The rebalancer's configuration: DATABASE_URL is the target, DATA_DIR's file the default source; required. */
  config: RebalancerConfig;
  /** Folder a relative file argument is taken from (the caller's); required. */
  base: string;
  /** Receives each line of output; required. */
  write(line: string): void;
}

/**
 * The move from SQLite to PostgreSQL: run once, with the rebalancer stopped, before starting the
 * replicas on DATABASE_URL. Creates the tables if needed and refuses a database that holds runs
 * already. Exit codes: 0 copied, 1 refused or failed, 2 usage.
 */
export async function copyRunsCommand(
  args: string[],
  options: CopyRunsCommandOptions,
): Promise<number> {
  const { config, write } = options;
  if (args.length > 1 || args[0]?.startsWith("-")) {
    write(usage);
    return 2;
  }
  if (config.databaseUrl === undefined) {
    write("DATABASE_URL (or DATABASE_URL_FILE) must name the PostgreSQL database to copy into");
    write(usage);
    return 2;
  }
  const file =
    args[0] === undefined ? join(config.dataDir, "runs.sqlite") : resolve(options.base, args[0]);
  if (!existsSync(file)) {
    write(`no SQLite run store at ${file}`);
    return 1;
  }
  const pool = createPostgresPool(config.databaseUrl.url, { max: 1, applicationName: "db:copy" });
  try {
    await migrateRunStore(pool);
    const copy = await copySqliteRuns(file, pool);
    write(`copied ${file} into ${config.databaseUrl.shown}:`);
    write(`  runs: ${copy.runs} (${copy.running} running: the replicas resume them)`);
    write(`  journal events: ${copy.events}`);
    if (copy.withoutJournal > 0) {
      write(`  ${copy.withoutJournal} runs from before journals: records copied, replays not`);
    }
    return 0;
  } catch (err) {
    write(
      err instanceof RunStoreNotEmptyError
        ? `refused: ${err.message}`
        : `copy failed, nothing was copied: ${(err as Error).message}`,
    );
    return 1;
  } finally {
    await pool.end();
  }
}

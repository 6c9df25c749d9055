import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { SubscriberConfig } from "../config.js";
import { copySqliteInbox, InboxNotEmptyError } from "../inbox/copy-sqlite-inbox.js";
import { entryStates } from "../inbox/inbox.js";
import { migrateInbox } from "../inbox/postgres-inbox.js";
import { createPostgresPool } from "../inbox/postgres-pool.js";

const usage = `usage: DATABASE_URL=postgres://… npm run copy-inbox -w subscriber -- [<sqlite file>]
  copies the SQLite inbox (default: subscriber-inbox.sqlite in DATA_DIR) into the empty
  PostgreSQL inbox of DATABASE_URL: entries, dead letters, realtime gaps and channel marks`;

/** Options of copyInboxCommand. */
export interface CopyInboxCommandOptions {
  /** The subscriber's configuration: DATABASE_URL is the target, DATA_DIR's file the default source; required. */
  config: SubscriberConfig;
  /** Folder a relative file argument is taken from (the caller's); required. */
  base: string;
  /** Receives each line of output; required. */
  write(line: string): void;
}

/**
 * The move from SQLite to PostgreSQL: run once, with every subscriber stopped, before starting
 * them on DATABASE_URL. Creates the tables if needed and refuses a database that holds any inbox
 * data already. Exit codes: 0 copied, 1 refused or failed, 2 usage.
 */
export async function copyInboxCommand(
  args: string[],
  options: CopyInboxCommandOptions,
): Promise<number> {
  const { config, write } = options;
  if (args.length > 1 || args[0]?.startsWith("-")) {
    write(usage);
    return 2;
  }
  if (config.database === undefined) {
    write("DATABASE_URL (or DATABASE_URL_FILE) must name the PostgreSQL database to copy into");
    write(usage);
    return 2;
  }
  const file = args[0] === undefined ? config.inboxFile : resolve(options.base, args[0]);
  if (!existsSync(file)) {
    write(`no SQLite inbox at ${file}`);
    return 1;
  }
  const pool = createPostgresPool(config.database.url, { max: 1 });
  try {
    await migrateInbox(pool);
    const copy = await copySqliteInbox(file, pool);
    const states = entryStates
      .filter((state) => copy.entries[state])
      .map((state) => `${copy.entries[state]} ${state}`);
    write(`copied ${file} into ${config.database.shown}:`);
    write(`  entries: ${states.length > 0 ? states.join(", ") : "none"}`);
    write(`  realtime gaps: ${copy.gaps}, channel marks: ${copy.marks}`);
    return 0;
  } catch (err) {
    write(
      err instanceof InboxNotEmptyError
        ? `refused: ${err.message}`
        : `copy failed, nothing was copied: ${(err as Error).message}`,
    );
    return 1;
  } finally {
    await pool.end();
  }
}

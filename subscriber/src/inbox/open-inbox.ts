import type { Logger } from "@mesh/platform/logger";
import type { SubscriberConfig } from "../config.js";
import type { Inbox } from "./inbox.js";
import { openPostgresInbox } from "./postgres-inbox.js";
import { openSqliteInbox } from "./sqlite-inbox.js";

/** Options of openInbox beyond the configuration. */
export interface OpenInboxOptions {
  /** With PostgreSQL: told of lost connections and lapsed claims; default none. */
  logger?: Logger;
}

/**
 * The inbox the configuration names: the PostgreSQL database of DATABASE_URL, shared by the
 * replicas, or else the SQLite file in DATA_DIR. A database that cannot be reached or migrated
 * fails the start with its URL (password redacted) in the message.
 */
export async function openInbox(
  config: Pick<SubscriberConfig, "database" | "inboxFile" | "delivery">,
  options: OpenInboxOptions = {},
): Promise<Inbox> {
  const { database } = config;
  if (database === undefined) return openSqliteInbox(config.inboxFile);
  try {
    return await openPostgresInbox(database.url, {
      claimTimeoutMs: config.delivery.claimTimeoutMs,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } catch (err) {
    const { code } = err as { code?: string };
    throw Object.assign(
      new Error(`inbox database ${database.shown}: ${(err as Error).message}`, { cause: err }),
      { code },
    );
  }
}

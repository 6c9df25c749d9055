import type { Logger } from "@mesh/platform/logger";
import type { SubscriberConfig } from "../config.js";
import type { Inbox } from "./inbox.js";
import { openPostgresInbox } from "./postgres-inbox.js";
import { openSqliteInbox } from "./sqlite-inbox.js";

/** The configured database cannot be opened: unreachable, refusing the login, missing, or not migratable. */
export class InboxUnavailableError extends Error {}

/** Options of openInbox beyond the configuration. */
export interface OpenInboxOptions {
  /** With PostgreSQL: told of lost connections and lapsed claims; default none. */
  logger?: Logger;
}

/**
 * The inbox the configuration names: the PostgreSQL database of DATABASE_URL, shared by the
 * replicas, or else the SQLite file in DATA_DIR. A database that cannot be opened throws an
 * InboxUnavailableError naming its URL, password redacted.
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
    throw new InboxUnavailableError(`inbox database ${database.shown}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

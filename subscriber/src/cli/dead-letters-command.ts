import type { Inbox, InboxEntry } from "../inbox/inbox.js";

const usage = `usage: npm run dead-letters -w subscriber -- <command>
  list              dead entries, newest first
  show <id>         one entry, all fields, as JSON
  redrive <id>      send a dead entry back for delivery, as a new run
  redrive --all     re-drive every dead entry
  discard <id>      give up on a dead entry for good (kept as discarded, never delivered)`;

/**
 * The dead-letter CLI: lists dead entries, re-drives and discards them. A re-drive gives the entry
 * a new idempotency key on purpose: the operator asks for a new run (the old key would only replay
 * the failure). A running subscriber picks the entry up at its next inbox poll. The subscriber's
 * SubscriberService and the console's Dead letters page do the same over the network.
 */
export async function deadLettersCommand(
  args: string[],
  inbox: Inbox,
  write: (line: string) => void,
): Promise<number> {
  const [command, arg] = args;
  if (command === "list") {
    const dead = await inbox.list({ state: "dead", limit: 1000 });
    if (dead.length === 0) write("no dead letters");
    for (const entry of dead) write(describe(entry));
    return 0;
  }
  if (command === "show" && arg) {
    const entry = await inbox.get(Number(arg));
    if (!entry) {
      write(`no entry ${arg}`);
      return 1;
    }
    write(JSON.stringify(entry, null, 2));
    return 0;
  }
  if (command === "redrive" && arg === "--all") {
    const dead = await inbox.list({ state: "dead", limit: 100_000 });
    for (const entry of dead) await inbox.redrive(entry.id, Date.now());
    write(`re-drove ${dead.length} dead letters`);
    return 0;
  }
  if (command === "redrive" && arg && /^\d+$/.test(arg)) {
    if (!(await inbox.redrive(Number(arg), Date.now()))) {
      write(`no dead letter ${arg} (see: list)`);
      return 1;
    }
    write(`re-drove ${arg}: pending again, as a new run`);
    return 0;
  }
  if (command === "discard" && arg && /^\d+$/.test(arg)) {
    if (!(await inbox.discard(Number(arg), Date.now()))) {
      write(`no dead letter ${arg} (see: list)`);
      return 1;
    }
    write(`discarded ${arg}: it will not be delivered`);
    return 0;
  }
  write(usage);
  return 2;
}

function describe(entry: InboxEntry): string {
  return [
    `#${entry.id}`,
    entry.accountId,
    entry.channel,
    entry.command,
    `event ${entry.eventKey}`,
    `${entry.attempts} attempts`,
    new Date(entry.updatedAt).toISOString(),
    `: ${entry.reason}`,
  ].join("  ");
}

import type { Gap, GapStore } from "../inbox/gap-store.js";

const usage = `usage: npm run gaps -w subscriber -- <command>
  list [--all]            open and unrecoverable gaps, newest first (--all: covered ones too)
  show <id>               one gap, all fields, as JSON
  ack <id> [--by <name>]  acknowledge a gap_unrecoverable record: health stops reporting it
  ack --all [--by <name>] acknowledge every one`;

/**
 * The gaps CLI: shows the realtime channels' gaps and acknowledges gap_unrecoverable records.
 * Acknowledging records who did it and when; the messages stay lost (publish them again, or post
 * them to the ingress, if they must run). A running subscriber's health sees it at once.
 */
export async function gapsCommand(
  args: string[],
  gaps: GapStore,
  write: (line: string) => void,
  who: string,
): Promise<number> {
  const [command, arg] = args;
  const byIndex = args.indexOf("--by");
  const by = byIndex >= 0 && args[byIndex + 1] ? args[byIndex + 1]! : who;
  if (command === "list" && (arg === undefined || arg === "--all")) {
    const all = await gaps.list({ limit: 1000 });
    const shown = arg === "--all" ? all : all.filter((g) => g.state !== "covered");
    if (shown.length === 0) write(arg === "--all" ? "no gaps" : "no open or unrecoverable gaps");
    for (const gap of shown) write(describe(gap));
    return 0;
  }
  if (command === "show" && arg && /^\d+$/.test(arg)) {
    const gap = await gaps.get(Number(arg));
    if (!gap) {
      write(`no gap ${arg}`);
      return 1;
    }
    write(JSON.stringify(gap, null, 2));
    return 0;
  }
  if (command === "ack" && arg === "--all") {
    const lost = await gaps.unacknowledged();
    for (const gap of lost) await gaps.acknowledge(gap.id, { who: by, at: Date.now() });
    write(`acknowledged ${lost.length} unrecoverable gaps`);
    return 0;
  }
  if (command === "ack" && arg && /^\d+$/.test(arg)) {
    if (!(await gaps.acknowledge(Number(arg), { who: by, at: Date.now() }))) {
      write(`no unacknowledged unrecoverable gap ${arg} (see: list)`);
      return 1;
    }
    write(`acknowledged ${arg}: its messages stay lost; health no longer reports it`);
    return 0;
  }
  write(usage);
  return 2;
}

function describe(gap: Gap): string {
  const acknowledged =
    gap.acknowledgedAt === undefined
      ? ""
      : `  (acknowledged ${iso(gap.acknowledgedAt)} by ${gap.acknowledgedBy ?? "?"})`;
  const detail =
    gap.state === "unrecoverable"
      ? `: ${gap.reason}`
      : gap.state === "open" && gap.failures > 0
        ? `: ${gap.failures} failed attempts, last: ${gap.lastError}`
        : "";
  return [
    `#${gap.id}`,
    gap.channel,
    gap.state,
    `${iso(gap.from)} .. ${iso(gap.to)}`,
    gap.cause,
    `${detail}${acknowledged}`,
  ]
    .filter(Boolean)
    .join("  ");
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

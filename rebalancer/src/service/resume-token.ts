import { Code, ConnectError } from "@connectrpc/connect";

/** What a WatchRuns token says, so that a token can change form later and old ones be told. */
const form = /^journal:(\d{1,15})$/;

/** The resume token of a position in the run journal (opaque to callers). */
export function resumeToken(position: number): string {
  return Buffer.from(`journal:${position}`, "utf8").toString("base64url");
}

/**
 * The journal position a resume token names, checked against the journal's last position: a
 * token past it comes from another journal (another database, or one that was reset), where
 * resuming would silently skip events.
 */
export function tokenPosition(token: string, lastPosition: number): number {
  const match = form.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (!match) {
    throw new ConnectError(
      "resume_token: not a token from WatchRuns; watch without one to start now",
      Code.InvalidArgument,
    );
  }
  const position = Number(match[1]);
  if (position > lastPosition) {
    throw new ConnectError(
      "resume_token: ahead of this rebalancer's run journal (a token from another database?); " +
        "watch without one to start now",
      Code.InvalidArgument,
    );
  }
  return position;
}

// Findings of the rebalancer side that the fuzz suite reports and that are being fixed on the
// rebalancer's branch (issue 13, i13r). The quick form in npm test tolerates exactly these classes
// (and prints them), so it still fails on anything new; `npm run fuzz` and FUZZ_STRICT=1 tolerate
// nothing. Remove an entry once its fix has landed: the report says when a class was not seen.

/** A class of findings: a name, and which finding lines (request -> outcome) belong to it. */
export interface KnownFinding {
  name: string;
  matches(line: string): boolean;
}

export const knownFindings: KnownFinding[] = [
  {
    name: "a compressed envelope or body the server cannot decompress is answered INTERNAL ('received compressed envelope, but do not know how to decompress', 'decompression failed')",
    matches: (line) => /-> .*(do not know how to decompress|decompression failed)/.test(line),
  },
  {
    name: "unknown fields in binary protobuf are ignored: a live Rebalance with an unknown field runs live (gRPC, gRPC-Web, Connect binary)",
    matches: (line) =>
      /rebalancer (grpc|grpc-web|grpc-web-text|connect-proto)( h2)? POST \S+\/Rebalance \[unknown field \d+/.test(
        line,
      ),
  },
  {
    name: "invalid UTF-8 inside a Connect JSON string is decoded to U+FFFD instead of refused: a live Rebalance runs",
    matches: (line) =>
      /rebalancer connect-json( h2)? POST \S+\/Rebalance \[invalid UTF-8 in/.test(line),
  },
];

/** The known class of a finding line, if any. */
export function knownClass(line: string): KnownFinding | undefined {
  return knownFindings.find((k) => k.matches(line));
}

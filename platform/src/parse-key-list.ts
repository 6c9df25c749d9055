/** The keys of a comma- or newline-separated list, trimmed, empty ones dropped. */
export function parseKeyList(text: string): string[] {
  return text
    .split(/[,\r\n]/)
    .map((key) => key.trim())
    .filter(Boolean);
}

import { readRepoFile } from "./repo.js";

/**
 * The root .dockerignore as a predicate on context-relative paths: Docker's rules closely
 * enough for these images (`*`, `?`, `**`, `!` exceptions, last match wins, a matched folder
 * excludes everything inside).
 */
export function dockerIgnore(): (path: string) => boolean {
  const rules = readRepoFile(".dockerignore")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const exception = line.startsWith("!");
      const pattern = (exception ? line.slice(1) : line).replace(/^\/+|\/+$/g, "");
      return { exception, pattern: toRegExp(pattern) };
    });
  return (path) => {
    const segments = path.replace(/^\.?\/+/, "").split("/");
    let ignored = false;
    for (const rule of rules) {
      // A pattern matching a parent folder matches everything below it.
      const matches = segments.some((_, i) =>
        rule.pattern.test(segments.slice(0, i + 1).join("/")),
      );
      if (matches) ignored = !rule.exception;
    }
    return ignored;
  };
}

function toRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      // `**/` matches any number of folders, including none.
      source += pattern[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += pattern[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

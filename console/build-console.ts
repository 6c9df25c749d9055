// Bundles the browser code with esbuild: src/main.ts and everything it imports (the generated
// client, connect-web, protobuf-es) become one script, written with index.html and console.css.
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** Options of buildConsole. */
export interface ConsoleBuildOptions {
  /** Folder to write; emptied first. Default console/dist. */
  outDir?: string;
  /**
   * Base URL of the rebalancer's API, for a console served from another origin (which must be
   * in the rebalancer's CORS_ORIGINS). Default none: the origin serving the page.
   */
  apiUrl?: string;
  /**
   * Base URL of the subscriber's service, for a console that cannot ask its rebalancer
   * (/console/settings.json). Default none: the rebalancer's CONSOLE_SUBSCRIBER_URL.
   */
  subscriberUrl?: string;
  /** Minify the script; default true. */
  minify?: boolean;
}

/** Folder of this file: console/. */
const consoleDir = fileURLToPath(new URL(".", import.meta.url));

/** Builds the console; resolves with the folder written. */
export async function buildConsole(options: ConsoleBuildOptions = {}): Promise<string> {
  const outDir = options.outDir ?? join(consoleDir, "dist");
  const source = join(consoleDir, "src");
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(source, "main.ts")],
    outfile: join(outDir, "console.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: options.minify ?? true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "silent",
  });
  const page = await readFile(join(source, "index.html"), "utf8");
  const withUrls = withMetaUrl(
    withMetaUrl(page, "rebalancer-api-url", options.apiUrl),
    "subscriber-api-url",
    options.subscriberUrl,
  );
  await writeFile(join(outDir, "index.html"), withUrls);
  await copyFile(join(source, "console.css"), join(outDir, "console.css"));
  return outDir;
}

/** The page with a base URL in its meta tag `name`. */
function withMetaUrl(page: string, name: string, apiUrl: string | undefined): string {
  if (apiUrl === undefined) return page;
  const url = new URL(apiUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`${name} must be an http(s) URL, got "${apiUrl}"`);
  }
  const attribute = url.href.replace(/\/$/, "").replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  return page.replace(
    `<meta name="${name}" content="" />`,
    `<meta name="${name}" content="${attribute}" />`,
  );
}

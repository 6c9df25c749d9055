// Serves the files of one folder under a path prefix, read-only: the built web console at
// /console/. Nothing here needs a key: the files hold no data, every RPC they make is
// authenticated on its own.
import { readFile, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import type {
  NodeRequest,
  NodeRequestHandler,
  NodeResponse,
} from "@mesh/platform/server/node-request-handler";
import { writeJson } from "@mesh/platform/server/write-json";

/** Options of createStaticFiles. */
export interface StaticFilesOptions {
  /** Folder whose files are served; it may be built (or rebuilt) after the server starts. */
  root: string;
  /** URL path the folder is served at, with a slash at both ends, e.g. "/console/". */
  mountPath: string;
  /** Serves requests outside mountPath; default a 404 JSON error. */
  fallback?: NodeRequestHandler;
  /** Other origins the pages may call (CSP connect-src), e.g. the subscriber's; default none. */
  connectSources?: readonly string[];
}

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Pages may load and call only their own origin, and may not be framed (clickjacking a live-run
 * confirmation). Styles set through the DOM (element.style) are not inline styles for CSP.
 */
const pageSecurityPolicy =
  "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; " +
  "form-action 'none'; frame-ancestors 'none'";

/**
 * A handler serving GET and HEAD for the files under `root` at `mountPath`. A directory answers
 * with its index.html, the mount path without its final slash redirects to it, and paths that
 * leave the folder or name a dotfile are 404. Answers are revalidated on every load (ETag), since
 * the bundle's file names do not change between builds.
 */
export function createStaticFiles(options: StaticFilesOptions): NodeRequestHandler {
  const root = resolve(options.root);
  const { mountPath } = options;
  if (!mountPath.startsWith("/") || !mountPath.endsWith("/")) {
    throw new Error(`mountPath must start and end with "/", got "${mountPath}"`);
  }
  const fallback = options.fallback ?? notFound;
  const connectSources = (options.connectSources ?? []).map((url) => new URL(url).origin);
  const policy =
    connectSources.length === 0
      ? pageSecurityPolicy
      : `${pageSecurityPolicy}; connect-src 'self' ${connectSources.join(" ")}`;

  async function serve(req: NodeRequest, res: NodeResponse, pathname: string): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      writeJson(
        res,
        405,
        { code: "unimplemented", message: `${req.method} is not allowed on ${pathname}` },
        { allow: "GET, HEAD" },
      );
      return;
    }
    const file = filePath(root, pathname.slice(mountPath.length));
    const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
    if (file === undefined || info === undefined || !info.isFile()) {
      notFound(req, res);
      return;
    }
    const etag = `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`;
    const type = contentTypes[extname(file).toLowerCase()] ?? "application/octet-stream";
    res.setHeader("content-type", type);
    res.setHeader("cache-control", "no-cache");
    res.setHeader("etag", etag);
    res.setHeader("x-content-type-options", "nosniff");
    res.setHeader("referrer-policy", "no-referrer");
    if (type.startsWith("text/html")) {
      res.setHeader("content-security-policy", policy);
    }
    if (req.headers["if-none-match"] === etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    const body = await readFile(file);
    res.statusCode = 200;
    res.setHeader("content-length", body.length);
    if (req.method === "HEAD") res.end();
    else res.end(body);
  }

  return function staticFiles(req, res): void {
    const url = req.url ?? "/";
    const queryStart = url.indexOf("?");
    const path = queryStart < 0 ? url : url.slice(0, queryStart);
    if (path === mountPath.slice(0, -1)) {
      // Relative URLs in the page resolve against the folder only with the final slash.
      res.statusCode = 308;
      res.setHeader("location", mountPath + (queryStart < 0 ? "" : url.slice(queryStart)));
      res.end();
      return;
    }
    if (!path.startsWith(mountPath)) {
      fallback(req, res);
      return;
    }
    serve(req, res, path).catch(() => {
      if (!res.headersSent) {
        writeJson(res, 500, { code: "internal", message: `could not read ${path}` });
      } else {
        res.destroy();
      }
    });
  };
}

/**
 * The file a path below the mount path names, or undefined when it is malformed, leaves the
 * folder or names a dotfile (.git, .env).
 */
function filePath(root: string, relative: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  const segments = decoded.split(/[/\\]/);
  if (decoded.includes("\0") || segments.some((s) => s.startsWith("."))) {
    return undefined;
  }
  const file = resolve(
    root,
    decoded === "" || decoded.endsWith("/") ? `${decoded}index.html` : decoded,
  );
  return file.startsWith(root + sep) ? file : undefined;
}

function notFound(req: NodeRequest, res: NodeResponse): void {
  const path = (req.url ?? "/").split("?", 1)[0];
  writeJson(res, 404, { code: "not_found", message: `no route for ${req.method} ${path}` });
}

import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/**
 * The status a GET of `url` answers, or undefined when nothing answers within `timeoutMs`.
 * Only the launcher's own services on this host are asked, and only their status is read, so a
 * private CA's certificate (TLS_CERT_FILE) is not verified here.
 */
export function httpStatus(url: string, timeoutMs = 2000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = request(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

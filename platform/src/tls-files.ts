import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContextOptions } from "node:tls";

/** Files of a TLS identity and the authorities it trusts. */
export interface TlsFiles {
  /** PEM certificate chain presented to the peer; unset: none (a client without mTLS). */
  certFile?: string;
  /** PEM private key of certFile. */
  keyFile?: string;
  /** PEM certificates of the authorities that sign the peer's certificate; unset: the system's. */
  caFile?: string;
}

/**
 * Reads TLS files into options for tls/https/http2, and checks them with createSecureContext so
 * that a half-written or mismatched pair is refused here (keeping the previous material on a
 * reload) instead of failing every handshake.
 */
export function readTlsFiles(files: TlsFiles): SecureContextOptions {
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
        cause: error,
      });
    }
  };
  const options: SecureContextOptions = {};
  if (files.certFile !== undefined) options.cert = read("certificate", files.certFile);
  if (files.keyFile !== undefined) options.key = read("private key", files.keyFile);
  if (files.caFile !== undefined) options.ca = read("CA certificates", files.caFile);
  try {
    createSecureContext(options);
  } catch (error) {
    throw new Error(`unusable TLS material: ${(error as Error).message}`, { cause: error });
  }
  return options;
}

/** Every file named in `files`, for watching. */
export function tlsFilePaths(files: TlsFiles): string[] {
  return [files.certFile, files.keyFile, files.caFile].filter(
    (file): file is string => file !== undefined,
  );
}

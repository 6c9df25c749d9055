// Certificates made at test time by the same script operators use (deploy/make-certs.sh).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../../../deploy/make-certs.sh", import.meta.url));

/** A local CA and the mesh's certificates, as files and contents. */
export interface TestCertificates {
  dir: string;
  caFile: string;
  rebalancerCertFile: string;
  rebalancerKeyFile: string;
  subscriberCertFile: string;
  subscriberKeyFile: string;
  ca: Buffer;
  subscriberCert: Buffer;
  subscriberKey: Buffer;
  /** Issues new service certificates under the same CA, replacing the files. */
  reissue(): void;
}

/** Makes a CA and certificates for 127.0.0.1, ::1 and localhost in a new temporary folder. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "mesh-tls-"));
  const reissue = () => {
    execFileSync("sh", [script, dir], { stdio: "pipe" });
  };
  reissue();
  const file = (name: string) => join(dir, name);
  return {
    dir,
    caFile: file("ca.crt"),
    rebalancerCertFile: file("rebalancer.crt"),
    rebalancerKeyFile: file("rebalancer.key"),
    subscriberCertFile: file("subscriber.crt"),
    subscriberKeyFile: file("subscriber.key"),
    ca: readFileSync(file("ca.crt")),
    subscriberCert: readFileSync(file("subscriber.crt")),
    subscriberKey: readFileSync(file("subscriber.key")),
    reissue,
  };
}

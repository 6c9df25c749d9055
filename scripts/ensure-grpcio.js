// Test set-up for the TLS tests that call the rebalancer from Python: Debian's python3-grpcio,
// installed with apt-get when it is missing (as root, as on CI and the project's machines).
import { execFileSync } from "node:child_process";

const python = "/usr/bin/python3";
const has = () => {
  try {
    execFileSync(python, ["-c", "import grpc"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
if (!has()) {
  if (process.getuid?.() !== 0) {
    console.error(`${python} cannot import grpc: install Debian's python3-grpcio`);
    process.exit(1);
  }
  console.log(`${python} cannot import grpc: installing Debian's python3-grpcio`);
  const apt = (...args) =>
    execFileSync("apt-get", args, {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  apt("update");
  apt("install", "-y", "--no-install-recommends", "python3", "python3-grpcio");
}

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { basename, dirname, join, posix, relative } from "node:path";
import { promisify } from "node:util";
import { dockerIgnore } from "./docker-ignore.js";
import { copiesOf, envOf, execForm, instructionsOf, parseDockerfile } from "./dockerfile.js";
import { repoRoot, type NodeService } from "./repo.js";

const run = promisify(execFile);

/** Options of replayImage. */
export interface ReplayOptions {
  /** Empty folder to build in; each stage gets a subfolder standing for its `/`. */
  dir: string;
  /**
   * Compile better-sqlite3 as the image build does (about a minute). Default false: install
   * with `--ignore-scripts` and reuse the addon the repository's own `npm ci` compiled for the
   * same version and Node.js, falling back to `npm rebuild better-sqlite3` when it does not load.
   */
  buildNative?: boolean;
}

/** The runtime stage of a service's image, laid out in a folder. */
export interface ReplayedImage {
  /** The folder standing for the runtime stage's `/`. */
  root: string;
  /** The folder standing for the final WORKDIR. */
  workdir: string;
  /** The final stage's ENV, container paths pointed into `root`. */
  env: Record<string, string>;
  /** CMD, `node` being this Node.js. */
  command: string[];
  /** HEALTHCHECK CMD, `node` being this Node.js. */
  healthcheck: string[];
  /** What the replay did and skipped, for failure messages. */
  log: string[];
}

/**
 * Builds a service's image without Docker by replaying its Dockerfile: each stage in its own
 * folder, COPY from the build context through .dockerignore, COPY --from between stages, the
 * production `npm ci` of a RUN executed for real (from the npm cache when it can), the console
 * build run against the checkout's own dev install, `mkdir -p` done,
 * apt-get and chown skipped (the toolchain is here already; users do not exist here). Any other
 * RUN fails the replay, so the Dockerfile cannot drift from what is tested.
 */
export async function replayImage(
  service: NodeService,
  options: ReplayOptions,
): Promise<ReplayedImage> {
  const dockerfile = parseDockerfile(`${service}/Dockerfile`);
  const ignored = dockerIgnore();
  const log: string[] = [];
  const roots = new Map<string, string>();
  let final: ReplayedImage | undefined;

  for (const [index, stage] of dockerfile.stages.entries()) {
    const root = join(options.dir, stage.name ?? `stage-${index}`);
    mkdirSync(root, { recursive: true });
    roots.set(stage.name ?? String(index), root);
    const at = (containerPath: string) => join(root, containerPath);
    let cwd = "/";

    for (const instruction of stage.instructions) {
      switch (instruction.keyword) {
        case "WORKDIR":
          cwd = posix.resolve(cwd, instruction.args);
          mkdirSync(at(cwd), { recursive: true });
          break;
        case "COPY":
          break; // below, in order with the rest
        case "RUN":
          await replayRun(instruction.args, at, cwd, options, log);
          break;
        case "ENV":
        case "ARG":
        case "USER":
        case "EXPOSE":
        case "HEALTHCHECK":
        case "STOPSIGNAL":
        case "CMD":
        case "LABEL":
          break;
        default:
          throw new Error(`replay does not know ${instruction.keyword} (line ${instruction.line})`);
      }
      if (instruction.keyword === "COPY") {
        const copy = copiesOf({ ...stage, instructions: [instruction] })[0]!;
        const destination = posix.resolve(cwd, copy.destination);
        const intoFolder = copy.destination.endsWith("/") || copy.sources.length > 1;
        for (const source of copy.sources) {
          const from = copy.from
            ? join(stageRoot(roots, copy.from), source)
            : contextPath(source, ignored);
          const target = intoFolder ? posix.join(destination, basename(source)) : destination;
          const isFolder = statSync(from).isDirectory();
          cpSync(from, at(isFolder && intoFolder ? destination : target), {
            recursive: true,
            verbatimSymlinks: true,
            filter: (path) => copy.from !== undefined || !ignored(relative(repoRoot, path)),
          });
          log.push(`COPY ${copy.from ? `--from=${copy.from} ` : ""}${source} -> ${target}`);
        }
      }
    }

    const env = envOf(stage);
    const node = (command: string[]) =>
      command.map((part, i) => (i === 0 && part === "node" ? process.execPath : part));
    const cmd = instructionsOf(stage, "CMD").at(-1);
    const health = instructionsOf(stage, "HEALTHCHECK").at(-1);
    final = {
      root,
      workdir: at(cwd),
      env: Object.fromEntries(
        Object.entries(env).map(([key, value]) => [
          key,
          value.startsWith("/") && existsSync(at(value.split("/")[1]!)) ? at(value) : value,
        ]),
      ),
      command: cmd ? node(execForm(cmd.args)) : [],
      healthcheck: health ? node(execForm(health.args)) : [],
      log,
    };
  }
  if (!final) throw new Error(`${service}/Dockerfile has no stage`);
  return final;
}

function stageRoot(roots: Map<string, string>, name: string): string {
  const root = roots.get(name);
  if (!root) throw new Error(`COPY --from=${name}: no such earlier stage`);
  return root;
}

function contextPath(source: string, ignored: (path: string) => boolean): string {
  if (ignored(source)) throw new Error(`COPY ${source}: excluded by .dockerignore`);
  const path = join(repoRoot, source);
  if (!existsSync(path)) throw new Error(`COPY ${source}: not in the build context`);
  return path;
}

async function replayRun(
  command: string,
  at: (containerPath: string) => string,
  cwd: string,
  options: ReplayOptions,
  log: string[],
): Promise<void> {
  for (const step of command.split("&&").map((s) => s.trim())) {
    if (/^apt-get\s/.test(step) || /^rm -rf \/var\/lib\/apt\/lists/.test(step)) {
      log.push(`skipped (toolchain present here): ${step}`);
    } else if (/^chown\s/.test(step)) {
      log.push(`skipped (no users here): ${step}`);
    } else if (/^mkdir -p\s/.test(step)) {
      for (const path of step.split(/\s+/).slice(2)) {
        mkdirSync(at(posix.resolve(cwd, path)), { recursive: true });
      }
      log.push(step);
    } else if (/^npm ci\b/.test(step) && !step.includes("--omit=dev")) {
      // A dev install only builds assets (the console bundle) whose output alone reaches the
      // image: the checkout's own install stands in for it.
      symlinkSync(join(repoRoot, "node_modules"), join(at(cwd), "node_modules"), "dir");
      log.push(`dev install stood in by the checkout's: ${step}`);
    } else if (/^npx tsx console\/build\.ts$/.test(step)) {
      await run(process.execPath, ["--import", "tsx", "console/build.ts"], {
        cwd: at(cwd),
        env: npmEnv(),
      });
      log.push(step);
    } else if (/^npm ci\b/.test(step)) {
      const flags = options.buildNative ? "" : " --ignore-scripts";
      const install = `${step}${flags} --prefer-offline --loglevel=error`;
      await run("sh", ["-c", install], { cwd: at(cwd), env: npmEnv(), maxBuffer: 16 << 20 });
      log.push(install);
      if (!options.buildNative) await provideSqliteAddon(at(cwd), log);
    } else {
      throw new Error(`replay does not know how to RUN: ${step}`);
    }
  }
}

/** The environment for npm: this one without what an outer npm run set for itself. */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^npm_/i.test(key) && !["INIT_CWD", "NODE_OPTIONS"].includes(key),
    ),
  );
}

/**
 * After `npm ci --ignore-scripts`, better-sqlite3 has no compiled addon: take the one the
 * repository's own install built (same package version, this Node.js) and prove it loads; else
 * compile it like the image build would.
 */
async function provideSqliteAddon(app: string, log: string[]): Promise<void> {
  const installed = join(app, "node_modules/better-sqlite3");
  if (!existsSync(installed)) return;
  const ours = join(repoRoot, "node_modules/better-sqlite3");
  const version = (dir: string) =>
    existsSync(join(dir, "package.json"))
      ? (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version
      : undefined;
  if (version(installed) === version(ours) && existsSync(join(ours, "build/Release"))) {
    cpSync(join(ours, "build"), join(installed, "build"), { recursive: true });
    log.push(`reused better-sqlite3 ${version(ours)} addon from the repository's install`);
  }
  const probe = "const D = require('better-sqlite3'); new D(':memory:').close();";
  try {
    await run(process.execPath, ["-e", probe], { cwd: app });
  } catch {
    await run("npm", ["rebuild", "better-sqlite3"], { cwd: app, env: npmEnv() });
    log.push("compiled better-sqlite3 (npm rebuild)");
    await run(process.execPath, ["-e", probe], { cwd: app });
  }
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** A service started from a replayed image. */
export interface StartedService {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
}

/**
 * Starts the image's CMD in its WORKDIR with only the image's ENV, the given variables and a
 * minimal PATH/HOME/TMPDIR: nothing from this test process leaks in (no NODE_OPTIONS, no tsx
 * loader, no INIT_CWD), so modules resolve from the replayed install alone.
 */
export function startImage(
  image: ReplayedImage,
  variables: Record<string, string>,
): StartedService {
  const env = containerEnv(image, variables);
  const [program, ...args] = image.command;
  const child = spawn(program!, args, {
    cwd: image.workdir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return { child, output: () => output, exited };
}

/** Runs the image's HEALTHCHECK command once, as Docker would inside the container. */
export async function runHealthcheck(
  image: ReplayedImage,
  variables: Record<string, string>,
): Promise<{ healthy: boolean; output: string }> {
  const [program, ...args] = image.healthcheck;
  try {
    const { stdout } = await run(program!, args, {
      cwd: image.workdir,
      env: containerEnv(image, variables),
      timeout: 5000,
    });
    return { healthy: true, output: stdout };
  } catch (error) {
    const failed = error as { stdout?: string; message: string };
    return { healthy: false, output: failed.stdout || failed.message };
  }
}

function containerEnv(image: ReplayedImage, variables: Record<string, string>) {
  const home = join(image.root, "home/node");
  const tmp = join(image.root, "tmp");
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  return {
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    TMPDIR: tmp,
    ...image.env,
    ...variables,
  };
}

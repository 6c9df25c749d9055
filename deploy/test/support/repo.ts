import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

/** The repository root: the Docker build context and the folder compose runs from. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The two services this folder deploys, by their folder (and compose service) name. */
export const nodeServices = ["rebalancer", "subscriber"] as const;
export type NodeService = (typeof nodeServices)[number];

/** A file of the repository as text. */
export function readRepoFile(path: string): string {
  return readFileSync(join(repoRoot, path), "utf8");
}

/** A YAML file of the repository, parsed (YAML 1.2, like Compose; no anchors are used). */
export function readYaml<T = unknown>(path: string): T {
  return parse(readRepoFile(path)) as T;
}

/** Every document of a multi-document YAML file (Kubernetes manifests). */
export function readYamlDocuments(path: string): unknown[] {
  return parseAllDocuments(readRepoFile(path)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    return doc.toJS() as unknown;
  });
}

/** The root package.json. */
export function rootPackage(): {
  workspaces: string[];
  engines: { node: string };
  devDependencies: Record<string, string>;
} {
  return JSON.parse(readRepoFile("package.json"));
}

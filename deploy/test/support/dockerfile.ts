import { readRepoFile } from "./repo.js";

/** One instruction: its keyword, `--flag=value` options, and the rest as written. */
export interface Instruction {
  keyword: string;
  flags: Record<string, string>;
  /** Everything after the flags, continuation lines joined. */
  args: string;
  line: number;
}

/** A build stage: FROM and what follows until the next FROM. */
export interface Stage {
  name?: string;
  /** The base image with build arguments substituted. */
  image: string;
  instructions: Instruction[];
}

/** A Dockerfile, split into stages. */
export interface Dockerfile {
  /** ARG defaults declared before the first FROM. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/**
 * Parses the subset of Dockerfile syntax these images use: comments, `\` continuations,
 * instructions with `--flags`, global ARGs substituted into FROM.
 */
export function parseDockerfile(path: string): Dockerfile {
  const lines = readRepoFile(path).split("\n");
  const instructions: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i]!.trim();
    if (text === "" || text.startsWith("#")) continue;
    while (text.endsWith("\\")) {
      text = text.slice(0, -1);
      i++;
      // Comment lines inside a continued instruction are dropped, as Docker does.
      while (i < lines.length && lines[i]!.trim().startsWith("#")) i++;
      text += " " + (lines[i] ?? "").trim();
    }
    const keyword = /^(\S+)/.exec(text)![1]!.toUpperCase();
    let rest = text.slice(keyword.length).trim();
    const flags: Record<string, string> = {};
    for (let flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest); flag;) {
      flags[flag[1]!] = flag[2] ?? "";
      rest = rest.slice(flag[0].length);
      flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest);
    }
    instructions.push({ keyword, flags, args: rest.replace(/\s+/g, " "), line: start + 1 });
  }

  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const [image, as, name] = instruction.args.split(" ");
      stages.push({
        image: image!.replace(/\$\{?(\w+)\}?/g, (_, arg: string) => globalArgs[arg] ?? ""),
        name: as?.toUpperCase() === "AS" ? name : undefined,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword !== "ARG")
        throw new Error(`${path}: ${instruction.keyword} before FROM`);
      const [name, value] = instruction.args.split("=");
      globalArgs[name!] = value ?? "";
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** The instructions of a stage with this keyword. */
export function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

/** The JSON (exec) form of CMD or HEALTHCHECK CMD; throws on the shell form. */
export function execForm(args: string): string[] {
  const json = args.replace(/^CMD\s+/, "");
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === "string")) {
    throw new Error(`not an exec-form command: ${args}`);
  }
  return parsed;
}

/** `ENV A=1 B=2` (or the old `ENV A 1`) as a record. */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructionsOf(stage, "ENV")) {
    if (!args.includes("=")) {
      const [name, ...value] = args.split(" ");
      env[name!] = value.join(" ");
      continue;
    }
    for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) {
      env[match[1]!] = match[3] ?? match[2]!;
    }
  }
  return env;
}

/** A COPY: where from (a stage name, or the build context) and which paths to where. */
export interface Copy {
  from?: string;
  sources: string[];
  destination: string;
}

export function copiesOf(stage: Stage): Copy[] {
  return instructionsOf(stage, "COPY").map(({ flags, args }) => {
    const parts = args.split(" ");
    return { from: flags.from, sources: parts.slice(0, -1), destination: parts.at(-1)! };
  });
}

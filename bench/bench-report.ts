import type { BenchSection, SectionId } from "./bench-section.js";

/** A whole benchmark run, as printed and written to --out. */
export interface BenchReport {
  quick: boolean;
  startedAt: string;
  seconds: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    /** 1-minute load average before and after the run: how shared the machine was. */
    loadBefore: number;
    loadAfter: number;
  };
  sections: BenchSection[];
  /** Benchmarks that could not run, with the reason. */
  failures: { id: SectionId; error: string }[];
}

// Re-reads a run each time the watch tells of it, at most one read per run at a time: a run's
// many order and fill events cost a read or two, not one each.
import type { GetRunResponse, Run } from "@mesh/proto/rebalancer/v1/rebalancer";

/**
 * A refresh(runId) that reads the run with `read` and hands it to `show`. Called again while a
 * read of the same run is out, it reads once more after that one (the run moved on since).
 */
export function liveRows(
  read: (runId: string) => Promise<GetRunResponse>,
  show: (run: Run) => void,
): (runId: string) => void {
  /** Runs being read, and whether another read is due once it returns. */
  const reading = new Map<string, boolean>();
  const readRun = (runId: string): void => {
    reading.set(runId, false);
    read(runId)
      .then(({ run }) => run && show(run))
      // The next event of the run reads it again; a failed read leaves the row as it was.
      .catch(() => undefined)
      .finally(() => {
        const again = reading.get(runId);
        reading.delete(runId);
        if (again) readRun(runId);
      });
  };
  return (runId) => {
    if (reading.has(runId)) reading.set(runId, true);
    else readRun(runId);
  };
}

/**
 * Thrown inside a run when its process hands it over (a shutdown past its grace period): the run
 * stops where it stands, places nothing more and records no outcome; its journal is resumed by the
 * next start or another replica.
 */
export class RunHandover extends Error {
  constructor(runId: string) {
    super(`run ${runId} handed over: the rebalancer is stopping`);
    this.name = "RunHandover";
  }
}

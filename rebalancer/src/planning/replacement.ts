/**
 * One replacement as the planner sees it: hold `target` instead of `source`, with the weight
 * multiplied by `scale`. Planning's own type (the accounts file's is the same shape), so
 * planning imports nothing outside itself.
 */
export interface Replacement {
  source: string;
  target: string;
  scale: number;
}

/**
 * Jobs on the head: the runner that runs submitted jobs in the head's
 * process, each under a driver of its own (the client's side is
 * driver/jobs.ts; the CLI's is cli/jobs.ts).
 *
 * Imports: driver/ (a job's driver), head/ (its store and state), store/,
 * net/, common/.
 */
export { JobRunner } from "./runner.js";
export type { JobRunnerOptions } from "./runner.js";

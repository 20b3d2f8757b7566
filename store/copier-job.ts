/**
 * What the host thread and its copy threads share about one copy
 * (copier.ts, copier-worker.ts): the job, the control words, and the loop
 * that claims and copies pieces.
 */
import { copyInto } from "../common/copy.js";

/** Control words (an Int32Array over shared memory). */
export const CTL_SEQ = 0; // the latest job's number: helpers wait on it
export const CTL_NEXT = 1; // the next piece to claim, counted across jobs
export const CTL_DONE = 2; // pieces copied, counted across jobs
export const CTL_HELPED = 3; // pieces the helpers copied
export const CTL_WORDS = 4;

export interface CopyJob {
  seq: number;
  src: SharedArrayBuffer;
  srcOff: number;
  dst: SharedArrayBuffer;
  dstOff: number;
  len: number;
  piece: number;
  /** This job's pieces are numbers base .. end-1 of the shared counter. */
  base: number;
  end: number;
}

/**
 * Claims pieces of `job` until none is left, copying each. A claim is a
 * compare-and-swap inside [base, end), so a thread still looking at an
 * older job can never take a piece of a newer one. Returns the pieces copied.
 */
export function claimPieces(ctl: Int32Array, job: CopyJob, src: Uint8Array, dst: Uint8Array): number {
  let copied = 0;
  for (;;) {
    const i = Atomics.load(ctl, CTL_NEXT);
    if (i < job.base || i >= job.end) return copied;
    if (Atomics.compareExchange(ctl, CTL_NEXT, i, i + 1) !== i) continue;
    const from = (i - job.base) * job.piece;
    const to = Math.min(job.len, from + job.piece);
    copyInto(dst, src.subarray(job.srcOff + from, job.srcOff + to), job.dstOff + from);
    copied++;
    Atomics.add(ctl, CTL_DONE, 1);
    Atomics.notify(ctl, CTL_DONE);
  }
}

/**
 * A copy thread (copier.ts): waits on the shared sequence word, takes the
 * newest job from its port without its event loop, and claims pieces of
 * it beside the host thread.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { claimPieces, CTL_HELPED, CTL_SEQ, type CopyJob } from "./copier-job.js";

const { ctl, port } = workerData as { ctl: Int32Array; port: MessagePort };
let seen = 0;
for (;;) {
  Atomics.wait(ctl, CTL_SEQ, seen);
  seen = Atomics.load(ctl, CTL_SEQ);
  // the job is posted before its number is stored, so it is in the port by now
  let job: CopyJob | undefined;
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) job = m.message as CopyJob;
  if (!job || job.seq !== seen) continue;
  const helped = claimPieces(ctl, job, new Uint8Array(job.src), new Uint8Array(job.dst));
  if (helped) Atomics.add(ctl, CTL_HELPED, helped);
}

/**
 * Large copies between shared buffers, made by several threads at once.
 *
 * One thread's memcpy is not the machine's memory bandwidth: on the 2-core
 * VM one thread copies about 16 GB/s and two copy 31 GB/s. Ray's put copies
 * with several threads for that reason. A plain ArrayBuffer can be read
 * only by the thread that owns it, so only copies whose source and
 * destination are both SharedArrayBuffers can be shared out; every other
 * copy is one `copyInto` (common/copy.ts), on the calling thread.
 *
 * Design assumptions:
 * - Copies are synchronous (put returns a ref at once) and made from one
 *   thread at a time, the host's: the caller copies pieces itself and
 *   waits (Atomics.wait) only for pieces a helper has started.
 * - Helpers claim pieces as the caller does (compare-and-swap on one
 *   counter), so a helper that is slow to wake, still starting, or busy
 *   elsewhere costs nothing: the caller copies what nobody claimed.
 * - Helpers are started with the first large copy, never keep the process
 *   alive, and wait on shared memory, not on their event loop.
 */
import { availableParallelism } from "node:os";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { copyInto } from "../common/copy.js";
import { claimPieces, CTL_DONE, CTL_HELPED, CTL_NEXT, CTL_SEQ, CTL_WORDS, type CopyJob } from "./copier-job.js";

const COPIER_URL = new URL("./copier-worker.js", import.meta.url);

/** Copies smaller than this are one `set`: waking a helper costs tens of microseconds. */
const PARALLEL_COPY_MIN = 16 << 20;
/** Bytes per piece: small enough to balance threads, large enough that claiming is free. */
const PIECE = 4 << 20;
/** At most this many helpers: memory bandwidth is spent by then. */
const MAX_HELPERS = 3;

interface Helper {
  worker: Worker;
  port: MessagePort;
}

let helpers: Helper[] | undefined;
let ctl: Int32Array | undefined;
let seq = 0;
let shared = 0;

function start(): Helper[] {
  const n = Math.min(MAX_HELPERS, availableParallelism() - 1);
  ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * Int32Array.BYTES_PER_ELEMENT));
  helpers = [];
  for (let i = 0; i < n; i++) {
    const { port1, port2 } = new MessageChannel();
    let worker: Worker;
    try {
      worker = new Worker(COPIER_URL, { workerData: { ctl, port: port2 }, transferList: [port2], execArgv: [] });
    } catch {
      break; // no thread to be had: the caller copies alone
    }
    worker.unref();
    const h: Helper = { worker, port: port1 };
    // a helper that fails (out of memory at start) only leaves its pieces to
    // the others; its port closes, so no job (and no buffer) waits there
    worker.on("error", () => {});
    worker.on("exit", () => {
      port1.close();
      const i = helpers?.indexOf(h) ?? -1;
      if (i >= 0) helpers!.splice(i, 1);
    });
    helpers.push(h);
  }
  return helpers;
}

/**
 * Copies `src` into `dst` at `offset`, as `dst.set(src, offset)` does;
 * with the host's copy threads when both are shared memory and the copy
 * is large.
 */
export function copyBytes(dst: Uint8Array, src: Uint8Array, offset = 0): void {
  if (src.length < PARALLEL_COPY_MIN || !(src.buffer instanceof SharedArrayBuffer) || !(dst.buffer instanceof SharedArrayBuffer)) {
    copyInto(dst, src, offset);
    return;
  }
  if (offset < 0 || offset + src.length > dst.length) throw new RangeError(`copyBytes: ${src.length} bytes at ${offset} do not fit in ${dst.length}`);
  const hs = helpers ?? start();
  if (hs.length === 0) {
    copyInto(dst, src, offset);
    return;
  }
  const c = ctl!;
  // between copies every claimed piece is done, so the two counters agree
  const base = Atomics.load(c, CTL_NEXT);
  const job: CopyJob = {
    seq: ++seq,
    src: src.buffer,
    srcOff: src.byteOffset,
    dst: dst.buffer,
    dstOff: dst.byteOffset + offset,
    len: src.length,
    piece: PIECE,
    base,
    end: base + Math.ceil(src.length / PIECE),
  };
  for (const h of hs) h.port.postMessage(job);
  Atomics.store(c, CTL_SEQ, job.seq);
  Atomics.notify(c, CTL_SEQ);
  claimPieces(c, job, new Uint8Array(job.src), new Uint8Array(job.dst));
  for (let d = Atomics.load(c, CTL_DONE); d < job.end; d = Atomics.load(c, CTL_DONE)) Atomics.wait(c, CTL_DONE, d, 50);
  shared++;
}

/** Copies shared out so far in this process, and the pieces the copy threads copied. */
export function copierStats(): { sharedCopies: number; helperCopyPieces: number } {
  return { sharedCopies: shared, helperCopyPieces: ctl ? Atomics.load(ctl, CTL_HELPED) : 0 };
}

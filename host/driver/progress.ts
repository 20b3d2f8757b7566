/**
 * `ray.progress(refs, { label })`: the refs as they complete (an async
 * iterator over `wait`), with a progress bar on a terminal — done/total,
 * percent, rate and time left, redrawn in place at most 10 times a second
 * — and plain lines elsewhere (a log, CI): one at each 10% and at the end.
 *
 * @example
 * for await (const ref of ray.progress(refs, { label: "rollouts" })) results.push(await ray.get(ref));
 */
import type { ObjectRef } from "../../common/object-ref.js";

/** Where progress goes: stderr by default; a TTY gets the bar. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** What is being waited for (default "tasks"). */
  label?: string;
  /** Where to draw (default process.stderr). */
  stream?: ProgressStream;
}

/** What progress uses of a driver. */
export interface ProgressDriver {
  wait<R extends ObjectRef>(refs: readonly R[], options: { numReturns?: number; timeoutMs?: number }): Promise<{ ready: R[]; pending: R[] }>;
}

function seconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${s.toFixed(s < 10 ? 1 : 0)}s`;
}

export async function* progress<R extends ObjectRef>(ray: ProgressDriver, refs: readonly R[], options: ProgressOptions = {}): AsyncGenerator<R, void, undefined> {
  if (!Array.isArray(refs)) throw new TypeError("progress(refs): refs must be an array of ObjectRefs");
  if (options !== undefined && (typeof options !== "object" || options === null)) throw new TypeError("progress(refs, options): options must be an object");
  const label = options.label ?? "tasks";
  if (typeof label !== "string") throw new TypeError("progress(): label must be a string");
  const out: ProgressStream = options.stream ?? process.stderr;
  const tty = out.isTTY === true;
  const total = refs.length;
  const t0 = performance.now();
  let done = 0;
  let lastDraw = 0;
  let lastTenth = -1;
  const draw = (final: boolean) => {
    const elapsed = (performance.now() - t0) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const pct = total === 0 ? 100 : (100 * done) / total;
    if (tty) {
      const now = performance.now();
      if (!final && now - lastDraw < 100) return;
      lastDraw = now;
      const tail = ` ${done}/${total} ${pct.toFixed(0)}% ${rate.toFixed(rate < 10 ? 1 : 0)}/s ${final ? seconds(elapsed) : `eta ${seconds(rate > 0 ? (total - done) / rate : Infinity)}`}`;
      const width = Math.max(10, Math.min(40, (out.columns ?? 80) - label.length - tail.length - 4));
      const filled = total === 0 ? width : Math.round((width * done) / total);
      out.write(`\r${label} [${"#".repeat(filled)}${".".repeat(width - filled)}]${tail}\x1b[K${final ? "\n" : ""}`);
      return;
    }
    const tenth = Math.floor(pct / 10);
    if (!final && tenth === lastTenth) return;
    lastTenth = tenth;
    if (final || done < total) out.write(`${label}: ${done}/${total} done (${pct.toFixed(0)}%) in ${seconds(elapsed)}${final ? "" : `, ${rate.toFixed(1)}/s`}\n`);
  };
  let pending: R[] = [...refs];
  draw(false);
  while (pending.length > 0) {
    // one to wait for, then whatever else is ready now (a wait per ref would go over the list once each)
    const first = await ray.wait(pending, { numReturns: 1 });
    const rest = first.pending.length > 0 ? await ray.wait(first.pending, { numReturns: first.pending.length, timeoutMs: 0 }) : first;
    pending = rest.pending;
    for (const r of rest === first ? first.ready : [...first.ready, ...rest.ready]) {
      done++;
      draw(false);
      yield r;
    }
  }
  draw(true);
}

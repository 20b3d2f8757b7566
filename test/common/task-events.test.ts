// Task events as nodes record and drain them (host/node/task-events.ts)
// and as the head keeps them (common/task-events.ts): states in order,
// errors with guest stacks, a buffer that drops rather than grows, and a
// table whose memory stays bounded over a million tasks.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { childTaskId, keyToHex, randomTaskId } from "../../common/ids.js";
import { EV_FAILED, EV_FINISHED, EV_SCHEDULED, EV_SUBMITTED, TaskTable } from "../../common/task-events.js";
import { TaskEvents } from "../../host/node/task-events.js";
import { TaskError } from "../../host/errors.js";
import type { TaskSpec } from "../../scheduler/index.js";
import type { ObjectEntry } from "../../store/index.js";
import { PENDING, READY } from "../../store/index.js";

const root = randomTaskId();
const task = (i: number, name = "f", job?: string) => ({ taskId: childTaskId(root, i), name, kind: 0, job }) as unknown as TaskSpec;

test("a task's events become one record: history, node, isolate, run time, error with the guest stack", () => {
  const ev = new TaskEvents();
  const a = task(0);
  const b = task(1, "g", "d".repeat(32));
  ev.record(a, EV_SUBMITTED);
  ev.record(a, EV_SCHEDULED, 3);
  ev.record(a, EV_FINISHED, 3, 2.5);
  ev.record(b, EV_SUBMITTED);
  ev.record(b, EV_FAILED, 1, 0.5, undefined, new TaskError("g", "RangeError", "bad", "at g (index.ts:3:9)"));
  const batch = ev.drain("n".repeat(32))!;
  assert.equal(batch.n, 5);
  assert.equal(ev.length, 0);
  const table = new TaskTable();
  table.ingest(batch);
  const ra = table.get(keyToHex(a.taskId.key))!;
  assert.deepEqual([ra.name, ra.state, ra.isolate, ra.durationMs, ra.job], ["f", "finished", 3, 2.5, "n".repeat(32)]);
  assert.ok(ra.times.submitted! <= ra.times.scheduled! && ra.times.scheduled! <= ra.times.finished!);
  assert.ok(Math.abs(ra.times.running! - (ra.times.finished! - 2.5)) < 1e-6);
  const rb = table.get(keyToHex(b.taskId.key).slice(0, 10))!;
  assert.deepEqual([rb.state, rb.job, rb.error], ["failed", "d".repeat(32), { code: "WRAY_TASK_ERROR", name: "RangeError", message: "bad", stack: "at g (index.ts:3:9)" }]);
  assert.deepEqual(table.list({ state: "failed" }).map((r) => r.name), ["g"]);
  const sum = table.summary();
  assert.deepEqual(sum.map((r) => [r.name, r.total, r.states]), [["f", 1, { finished: 1 }], ["g", 1, { failed: 1 }]].sort());
  const tl = table.timeline();
  assert.equal(tl.length, 2);
  assert.deepEqual([tl.find((e) => e.name === "f")!.dur, tl.find((e) => e.name === "f")!.tid], [2500, 3]);
  // events from two nodes in either order: the state only moves on
  const c = task(2);
  const ownerEv = new TaskEvents();
  const runnerEv = new TaskEvents();
  ownerEv.record(c, EV_SUBMITTED);
  runnerEv.record(c, EV_SCHEDULED, 0);
  runnerEv.record(c, EV_FINISHED, 0, 1);
  table.ingest(runnerEv.drain("r".repeat(32))!);
  table.ingest(ownerEv.drain("o".repeat(32))!);
  const rc = table.get(keyToHex(c.taskId.key))!;
  assert.deepEqual([rc.state, rc.node], ["finished", "r".repeat(32)]);
});

test("a submitted task costs no event of its own unless it is still pending a drain after it came; its finish carries its submit time", () => {
  const ev = new TaskEvents();
  const result = (state: number) => ({ state }) as unknown as ObjectEntry;
  const withResult = (i: number, state: number) => ({ ...task(i), returns: [result(state)], submittedAt: NaN }) as unknown as TaskSpec;
  const done = withResult(10, PENDING);
  const waiting = withResult(11, PENDING);
  ev.submitted(done, undefined, 1000);
  ev.submitted(waiting, undefined, 1001);
  assert.equal(done.submittedAt, 1000);
  ev.record(done, EV_FINISHED, 2, 0.5, undefined, undefined, 1003, 1002);
  (done.returns[0] as unknown as { state: number }).state = READY;
  const b = ev.drain("n".repeat(32))!;
  // the finish only: the other was submitted since the last drain (it may well end before the next)
  assert.deepEqual([...b.states], [EV_FINISHED]);
  const table = new TaskTable();
  table.ingest(b);
  // at the next drain it is still pending: now it is shown submitted, at its submit time
  const b2 = ev.drain("n".repeat(32))!;
  assert.deepEqual([...b2.states], [EV_SUBMITTED]);
  table.ingest(b2);
  const d = table.get(keyToHex(done.taskId.key))!;
  assert.deepEqual([d.state, d.times.submitted, d.times.scheduled, d.times.finished], ["finished", 1000, 1002, 1003]);
  const w = table.get(keyToHex(waiting.taskId.key))!;
  assert.deepEqual([w.state, w.times.submitted], ["submitted", 1001]);
  // the next drain records nothing more for them
  assert.equal(ev.drain("n".repeat(32)), undefined);
  // a drain for a query shows even a task submitted just now
  const young = withResult(12, PENDING);
  ev.submitted(young);
  assert.deepEqual([...ev.drain("n".repeat(32), true)!.states], [EV_SUBMITTED]);
});

test("past maxTasksPerJob: lists show the latest, a late SUBMITTED does not count a finished task again, a task forgotten while running still moves its count", () => {
  const table = new TaskTable({ maxTasksPerJob: 4 });
  const node = "n".repeat(32);
  const ingest = (fn: (ev: TaskEvents) => void) => {
    const ev = new TaskEvents();
    fn(ev);
    table.ingest(ev.drain(node)!);
  };
  const running = task(100, "long");
  ingest((ev) => ev.record(running, EV_SCHEDULED, 0));
  const late = task(101);
  ingest((ev) => ev.record(late, EV_FINISHED, 1, 1));
  // 4 more tasks: the first two leave the lists (the table still knows them)
  for (let i = 0; i < 4; i++) ingest((ev) => ev.record(task(200 + i), EV_FINISHED, 1, 1));
  assert.equal(table.size, 4);
  assert.deepEqual(table.list({}, 100).map((r) => r.taskId), [0, 1, 2, 3].map((i) => keyToHex(task(200 + i).taskId.key)).reverse());
  assert.equal(table.get(keyToHex(late.taskId.key)), undefined);
  // the late task's owner drains after its runner: its SUBMITTED must not make it a new, pending task
  ingest((ev) => ev.record(late, EV_SUBMITTED));
  // 8 more: the long task is forgotten while it runs (its generation goes), and then it ends
  for (let i = 4; i < 12; i++) ingest((ev) => ev.record(task(200 + i), EV_FINISHED, 1, 1));
  assert.equal(table.size, 4);
  ingest((ev) => ev.record(running, EV_FINISHED, 0, 50));
  const sum = table.summary();
  assert.deepEqual(sum.find((r) => r.name === "long")!.states, { finished: 1 });
  assert.deepEqual(sum.find((r) => r.name === "f")!.states, { finished: 13 });
  assert.equal(table.evicted, 10);
});

test("a full buffer drops events and counts them; disabled, it records nothing; a malformed batch is refused", () => {
  const ev = new TaskEvents(true, 8);
  let halves = 0;
  ev.onHalf = () => halves++;
  for (let i = 0; i < 10; i++) ev.record(task(i), EV_SUBMITTED);
  assert.equal(halves, 1);
  const b = ev.drain("x")!;
  assert.deepEqual([b.n, b.dropped], [8, 2]);
  const table = new TaskTable();
  table.ingest(b);
  assert.equal(table.dropped, 2);
  const off = new TaskEvents(false);
  off.record(task(0), EV_SUBMITTED);
  assert.equal(off.drain("x"), undefined);
  assert.throws(() => table.ingest({ ...b, times: new Uint8Array(3) }), /8 events has 3 bytes of times/);
});

test("1,000,000 tasks: the table keeps the latest 10,000 whole and counts every one, in bounded memory", () => {
  const script = `
    import { TaskEvents, TaskTable } from "wray/host";
    const N = 1_000_000, KEEP = 10_000;
    const table = new TaskTable({ maxTasksPerJob: KEEP });
    const ev = new TaskEvents(true);
    ev.onHalf = () => { table.ingest(ev.drain("n".repeat(32))); };
    // the heap and the typed arrays' buffers (outside the heap)
    const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
    gc(); const before = used();
    for (let i = 0; i < N; i++) {
      const t = { taskId: { w0: i, w1: 7, w2: 8, w3: 9 }, name: "f" + (i % 10), kind: 0, job: undefined };
      ev.record(t, 0);
      ev.record(t, 4, i % 2, 0.5);
    }
    table.ingest(ev.drain("n".repeat(32)));
    gc(); const after = used();
    const total = table.summary().reduce((s, r) => s + r.total, 0);
    console.log(JSON.stringify({ size: table.size, evicted: table.evicted, events: table.events, total, mib: (after - before) / 1048576 }));
  `;
  const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { cwd: fileURLToPath(new URL("../..", import.meta.url)), encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { size: number; evicted: number; events: number; total: number; mib: number };
  assert.deepEqual([out.size, out.evicted, out.events, out.total], [10_000, 990_000, 2_000_000, 1_000_000]);
  // the stated bound (README): under 32 MiB for 10,000 tasks kept whole, whatever the number seen
  assert.ok(out.mib < 32, `the table and buffer hold ${out.mib.toFixed(1)} MiB`);
});

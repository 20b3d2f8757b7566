// The blocking-call state machine (host/node/blocking.ts) driven by hand:
// a real object store, a fake reply channel in place of the isolate pool,
// and a fake host that says what the scheduler would lend.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decode } from "@msgpack/msgpack";
import { makeTaskId, objectKey } from "../../../common/ids.js";
import type { TaskSpec } from "../../../scheduler/index.js";
import { TaskCancelledError } from "../../../scheduler/index.js";
import { Arena, ObjectStore } from "../../../store/index.js";
import type { ObjectEntry } from "../../../store/index.js";
import { BlockingCalls } from "../../../host/node/blocking.js";
import type { BlockingHost, ReplyChannel } from "../../../host/node/blocking.js";
import type { Piece } from "../../../host/isolate/index.js";

type Reply = { iso: number; kind: "values"; values: Piece[] } | { iso: number; kind: "indices"; indices: number[] } | { iso: number; kind: "failure"; failure: { code: string; message: string } };

class FakePool implements ReplyChannel {
  replies: Reply[] = [];
  parkedIsos: number[] = [];
  discarded: number[] = [];
  parked(iso: number): void {
    this.parkedIsos.push(iso);
  }
  discardUnread(iso: number): void {
    this.discarded.push(iso);
  }
  replyValues(iso: number, values: readonly Piece[]): void {
    this.replies.push({ iso, kind: "values", values: [...values] });
  }
  replyIndices(iso: number, indices: readonly number[]): void {
    this.replies.push({ iso, kind: "indices", indices: [...indices] });
  }
  replyFailure(iso: number, failure: Uint8Array): void {
    this.replies.push({ iso, kind: "failure", failure: decode(failure) as { code: string; message: string } });
  }
}

class FakeHost implements BlockingHost {
  /** What the next `blocked` returns. */
  help: TaskSpec | undefined;
  reclaim: TaskSpec[] = [];
  blockedCalls: { iso: number; unready: string[]; first: boolean; mayLend: boolean }[] = [];
  resumedIsos: number[] = [];
  lent: [number, TaskSpec][] = [];
  dropped: TaskSpec[] = [];
  pinned: ObjectEntry[] = [];
  blocked(iso: number, unready: string[], first: boolean, mayLend: boolean) {
    this.blockedCalls.push({ iso, unready, first, mayLend });
    const help = mayLend ? this.help : undefined;
    this.help = undefined;
    const reclaimed = this.reclaim;
    this.reclaim = [];
    return { reclaimed, help };
  }
  resumed(iso: number): void {
    this.resumedIsos.push(iso);
  }
  lend(iso: number, task: TaskSpec): void {
    this.lent.push([iso, task]);
  }
  dropUnstarted(_iso: number, tasks: TaskSpec[]): void {
    this.dropped.push(...tasks);
  }
  pin(_slot: number, e: ObjectEntry): void {
    this.pinned.push(e);
  }
  /** Cancels of the tasks in these slots. */
  cancels = new Map<number, Error>();
  cancelled(slot: number): Error | undefined {
    return this.cancels.get(slot);
  }
  deadlock(): Error | undefined {
    return undefined;
  }
}

const root = makeTaskId(1, 2, 3, 4);
let next = 1;
const NO_DEADLINE = -1;

function setup() {
  const store = new ObjectStore(new Arena({ capacity: 1 << 20 }));
  const pool = new FakePool();
  const host = new FakeHost();
  const calls = new BlockingCalls(store, pool, host);
  const pending = () => {
    const id = objectKey(root, next++);
    store.expect(id, 1);
    return id;
  };
  const seal = (id: string, byte: number) => store.sealInline(id, Uint8Array.of(byte), undefined);
  return { store, pool, host, calls, pending, seal };
}

const task = (name: string) => ({ name }) as TaskSpec;

test("a get of sealed objects is answered at once, with their values pinned for the task", () => {
  const { pool, host, calls, pending, seal } = setup();
  const a = pending();
  seal(a, 7);
  calls.get(1, 0, [a], NO_DEADLINE);
  assert.equal(pool.replies.length, 1);
  const r = pool.replies[0]!;
  assert.equal(r.kind, "values");
  assert.deepEqual([...(r as { values: Uint8Array[] }).values[0]!], [7]);
  assert.equal(host.pinned.length, 1);
  assert.deepEqual(host.blockedCalls, [], "an answerable call never blocks");
  assert.deepEqual(host.resumedIsos, []);
  assert.equal(calls.depth(1), 0);
});

test("a get of a pending object parks the isolate until the object is sealed, then gives its resources back", () => {
  const { pool, host, calls, pending, seal } = setup();
  const a = pending();
  calls.get(3, 0, [a], NO_DEADLINE);
  assert.equal(pool.replies.length, 0);
  assert.deepEqual(pool.parkedIsos, [3]);
  assert.deepEqual(host.blockedCalls, [{ iso: 3, unready: [a], first: true, mayLend: true }]);
  seal(a, 9);
  assert.equal(pool.replies.length, 1);
  assert.equal(pool.replies[0]!.kind, "values");
  assert.deepEqual(host.resumedIsos, [3]);
  assert.equal(calls.depth(3), 0);
});

test("a get waits for every object: sealing one of two answers nothing", () => {
  const { pool, calls, pending, seal } = setup();
  const a = pending();
  const b = pending();
  calls.get(1, 0, [a, b], NO_DEADLINE);
  seal(b, 2);
  assert.equal(pool.replies.length, 0);
  seal(a, 1);
  assert.equal(pool.replies.length, 1);
  const values = (pool.replies[0] as { values: Uint8Array[] }).values.map((v) => v[0]);
  assert.deepEqual(values, [1, 2], "values in the order asked");
});

test("a wait is answered with the indices of the first numReturns ready objects", () => {
  const { pool, calls, pending, seal } = setup();
  const ids = [pending(), pending(), pending()];
  calls.wait(1, 0, ids, 1, NO_DEADLINE);
  assert.equal(pool.replies.length, 0);
  seal(ids[2]!, 0);
  assert.deepEqual(pool.replies, [{ iso: 1, kind: "indices", indices: [2] }]);
});

test("a wait asking for more than it names waits for all of them", () => {
  const { pool, calls, pending, seal } = setup();
  const ids = [pending(), pending()];
  calls.wait(1, 0, ids, 5, NO_DEADLINE);
  seal(ids[0]!, 0);
  assert.equal(pool.replies.length, 0);
  seal(ids[1]!, 0);
  assert.deepEqual(pool.replies, [{ iso: 1, kind: "indices", indices: [0, 1] }]);
});

test("a get with a deadline is never lent work, and fails with GetTimeoutError's code when it passes", async () => {
  const { pool, host, calls, pending, seal } = setup();
  const a = pending();
  host.help = task("would-help");
  calls.get(1, 0, [a], 20);
  assert.equal(host.blockedCalls[0]!.mayLend, false);
  assert.deepEqual(host.lent, []);
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (pool.replies.length > 0) {
        clearInterval(t);
        resolve();
      }
    }, 5);
  });
  const r = pool.replies[0]!;
  assert.equal(r.kind, "failure");
  assert.equal((r as { failure: { code: string } }).failure.code, "WRAY_GET_TIMEOUT");
  seal(a, 1);
  assert.equal(pool.replies.length, 1, "a seal after the deadline answers nothing more");
});

test("a failed object fails the get with its error's code; a freed one with WRAY_OBJECT_LOST", () => {
  const { store, pool, calls, pending } = setup();
  const a = pending();
  const err = Object.assign(new Error("boom"), { code: "WRAY_TASK_ERROR" });
  store.fail(a, err);
  calls.get(1, 0, [a], NO_DEADLINE);
  assert.equal((pool.replies[0] as { failure: { code: string; message: string } }).failure.message, "boom");
  const b = pending();
  store.release(b);
  calls.get(1, 0, [b], NO_DEADLINE);
  assert.equal((pool.replies[1] as { failure: { code: string } }).failure.code, "WRAY_OBJECT_LOST");
});

test("a waiting isolate lent a task is not answered until it resumes, then the call is looked at again", () => {
  const { pool, host, calls, pending, seal } = setup();
  const a = pending();
  const producer = task("producer");
  host.help = producer;
  calls.get(4, 0, [a], NO_DEADLINE);
  assert.deepEqual(host.lent, [[4, producer]]);
  assert.deepEqual(pool.parkedIsos, [], "lent, not parked");
  // the lent task produces the object while it runs: no answer until the isolate asks again
  seal(a, 5);
  assert.equal(pool.replies.length, 0);
  calls.resume(4);
  assert.equal(pool.replies.length, 1);
  assert.equal(pool.replies[0]!.kind, "values");
  assert.deepEqual(host.resumedIsos, [4]);
});

test("a call made by a task lent to a waiting isolate is answered before the call below it", () => {
  const { pool, host, calls, pending, seal } = setup();
  const outer = pending();
  const inner = pending();
  host.help = task("nested");
  calls.get(2, 0, [outer], NO_DEADLINE);
  // the nested task blocks too (nothing to lend this time)
  calls.get(2, 1, [inner], NO_DEADLINE);
  assert.equal(calls.depth(2), 2);
  seal(outer, 1);
  assert.equal(pool.replies.length, 0, "the outer call waits while the nested task runs");
  seal(inner, 2);
  assert.equal(pool.replies.length, 1);
  assert.deepEqual([...(pool.replies[0] as { values: Uint8Array[] }).values[0]!], [2]);
  calls.resume(2);
  assert.equal(pool.replies.length, 2);
  assert.deepEqual([...(pool.replies[1] as { values: Uint8Array[] }).values[0]!], [1]);
  assert.equal(calls.depth(2), 0);
});

test("tasks taken back from a waiting isolate are dropped there, and its unread records discarded", () => {
  const { pool, host, calls, pending } = setup();
  const queued = [task("q1"), task("q2")];
  host.reclaim = queued;
  calls.get(6, 0, [pending()], NO_DEADLINE);
  assert.deepEqual(pool.discarded, [6]);
  assert.deepEqual(host.dropped, queued);
});

test("an isolate that exits takes its calls with it: later seals answer nothing", () => {
  const { pool, calls, pending, seal } = setup();
  const a = pending();
  calls.get(8, 0, [a], 1000);
  calls.isolateExited(8);
  seal(a, 1);
  assert.equal(pool.replies.length, 0);
  assert.equal(calls.depth(8), 0);
  calls.close();
});

test("a get of a task that is cancelled while it waits is answered at once with the cancel; a wait with what is ready", () => {
  const { pool, host, calls, pending, seal } = setup();
  const a = pending();
  const b = pending();
  calls.get(1, 5, [a], NO_DEADLINE);
  calls.wait(2, 6, [a, b], 2, NO_DEADLINE);
  seal(b, 1);
  assert.equal(pool.replies.length, 0);
  host.cancels.set(5, new TaskCancelledError("spin", "00"));
  host.cancels.set(6, new TaskCancelledError("spin", "01"));
  calls.cancelled(1, 5);
  calls.cancelled(2, 6);
  assert.equal(pool.replies.length, 2);
  const failure = (pool.replies[0] as { failure: { code: string; message: string } }).failure;
  assert.equal(failure.code, "WRAY_TASK_CANCELLED");
  assert.match(failure.message, /task 'spin' \(00\) was cancelled/);
  assert.deepEqual((pool.replies[1] as { indices: number[] }).indices, [1], "a wait answers with what is ready");
  assert.deepEqual(host.resumedIsos, [1, 2]);
  // a later get of the cancelled task fails at once, even of ready objects
  calls.get(1, 5, [b], NO_DEADLINE);
  assert.equal((pool.replies[2] as { failure: { code: string } }).failure.code, "WRAY_TASK_CANCELLED");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { childTaskId, makeTaskId, objectKey } from "../../common/ids.js";
import type { Executor, FunctionStats, TaskSpec } from "../../scheduler/index.js";
import { InfeasibleTaskError, LocalScheduler, newTaskSpec, shapeOf } from "../../scheduler/index.js";
import { Arena, ObjectStore } from "../../store/index.js";

const root = makeTaskId(9, 9, 9, 9);
let n = 0;
const stats = new Map<string, FunctionStats>();
function statsOf(name: string): FunctionStats {
  let s = stats.get(name);
  if (!s) stats.set(name, (s = { avgMs: NaN }));
  return s;
}

function spec(name: string, opts: { numCpus?: number; resources?: Record<string, number>; deps?: string[]; nested?: boolean } = {}): TaskSpec {
  const taskId = childTaskId(root, n++);
  return newTaskSpec({
    taskId,
    name,
    nameBytes: new TextEncoder().encode(name),
    component: 0,
    kind: 0,
    args: Uint8Array.of(0x90),
    deps: opts.deps,
    nested: undefined,
    numReturns: 1,
    returnIds: [objectKey(taskId, 1)],
    returns: [],
    stats: statsOf(name),
    shape: shapeOf({ numCpus: opts.numCpus, resources: opts.resources }),
    retriesLeft: 0,
    timeoutMs: 0,
    nestedSubmit: opts.nested ?? false,
  });
}

/** Records what the scheduler asks for; isolate rings accept `room` tasks each. */
class Recorder implements Executor {
  sent: [number, TaskSpec][] = [];
  lent: [number, TaskSpec][] = [];
  rejected: [string, Error][] = [];
  grows = 0;
  canGrow = false;
  onGrow: () => void = () => {};
  send(iso: number, t: TaskSpec): boolean {
    this.sent.push([iso, t]);
    return true;
  }
  lend(iso: number, t: TaskSpec): void {
    this.lent.push([iso, t]);
  }
  grow(): boolean {
    this.grows++;
    if (this.canGrow) this.onGrow();
    return this.canGrow;
  }
  reject(t: TaskSpec, e: Error): void {
    this.rejected.push([t.name, e]);
  }
  /** Tasks an isolate has started (stealing them fails), by isolate. */
  started = new Set<TaskSpec>();
  stolen: [number, TaskSpec][] = [];
  steal(iso: number, t: TaskSpec): boolean {
    if (this.started.has(t)) return false;
    this.stolen.push([iso, t]);
    // it was never sent, as far as finishing goes
    this.sent.splice(this.sent.findIndex(([i, x]) => i === iso && x === t), 1);
    return true;
  }
  canLend(): boolean {
    return true;
  }
  names(): [number, string][] {
    return this.sent.map(([i, t]) => [i, t.name]);
  }
}

function setup(cpus: number, isolates: number, extra: Record<string, number> = {}) {
  const store = new ObjectStore(new Arena({ capacity: 1 << 20 }));
  const ex = new Recorder();
  const clock = { ms: 0 };
  const s = new LocalScheduler(store, ex, { resources: { CPU: cpus, ...extra }, now: () => clock.ms });
  for (let i = 0; i < isolates; i++) s.addIsolate(i);
  return { store, ex, s, clock };
}

/** Tasks isolate `iso` was sent and has not finished, oldest first. */
function pipelineOf(ex: Recorder, done: Set<TaskSpec>, iso: number): TaskSpec[] {
  return ex.sent.filter(([i, t]) => i === iso && !done.has(t)).map(([, t]) => t);
}

/** Finishes the oldest unfinished sent task; false when none is left. */
function finishNext(s: LocalScheduler, ex: Recorder, done: Set<TaskSpec>, ms = 1): boolean {
  const next = ex.sent.find(([, t]) => !done.has(t));
  if (!next) return false;
  done.add(next[1]);
  s.finished(next[0], next[1], ms);
  return true;
}

test("tasks take leases while CPUs last; the rest queue", () => {
  const { ex, s } = setup(2, 3);
  for (let i = 0; i < 20; i++) s.submit(spec(`t${i}`));
  const isolates = new Set(ex.sent.map(([i]) => i));
  assert.equal(isolates.size, 2, "two CPUs: two isolates leased");
  assert.equal(s.stats().resources.available.CPU, 0);
  // a function of unknown duration pipelines a few tasks per isolate, not all of them
  assert.ok(ex.sent.length >= 2 && ex.sent.length <= 8, `${ex.sent.length} sent`);
  assert.equal(s.stats().queued, 20 - ex.sent.length);
});

test("finished tasks keep the lease fed; pipelines deepen for fast functions", () => {
  const { ex, s } = setup(1, 1);
  for (let i = 0; i < 300; i++) s.submit(spec("fast"));
  const first = ex.sent.length;
  const done = new Set<TaskSpec>();
  let maxInFlight = 0;
  while (finishNext(s, ex, done, 0.001)) maxInFlight = Math.max(maxInFlight, ex.sent.length - done.size);
  assert.equal(done.size, 300, "every task ran");
  assert.ok(maxInFlight > 10 * first, `in flight grew from ${first} to ${maxInFlight}`);
  assert.equal(s.stats().resources.available.CPU, 1, "the lease was returned");
  assert.equal(s.stats().idle, 1);
});

test("a function shorter than the pipeline target has a task queued behind the running one; a longer one does not", () => {
  // pipelineTargetMs is 2: 1.05 ms tasks rounded down to a depth of 1 made
  // the isolate wait a host round trip between every two tasks
  for (const [name, avgMs, depth] of [["just over 1 ms", 1.05, 2], ["1.9 ms", 1.9, 2], ["0.6 ms", 0.6, 4], ["2.5 ms", 2.5, 1]] as const) {
    const { ex, s } = setup(1, 1);
    statsOf(name).avgMs = avgMs;
    for (let i = 0; i < 10; i++) s.submit(spec(name));
    assert.equal(pipelineOf(ex, new Set(), 0).length, depth, `${name}: the isolate's pipeline`);
    const done = new Set<TaskSpec>();
    finishNext(s, ex, done, avgMs);
    assert.equal(pipelineOf(ex, done, 0).length, depth, `${name}: refilled after a task finished`);
  }
});

test("infeasible demands are rejected at once", () => {
  const { ex, s } = setup(2, 2);
  s.submit(spec("huge", { numCpus: 3 }));
  s.submit(spec("tpu", { resources: { tpu: 1 } }));
  assert.equal(ex.rejected.length, 2);
  assert.ok(ex.rejected.every(([, e]) => e instanceof InfeasibleTaskError));
  assert.match(ex.rejected[0]![1].message, /CPU: needs 3, the node has 2/);
  assert.equal(ex.sent.length, 0);
});

test("a task waits for its arguments, and fails without running if one failed", () => {
  const { store, ex, s } = setup(2, 2);
  store.expect("dep1", 1);
  store.expect("dep2", 1);
  s.submit(spec("needs", { deps: ["dep1", "dep2"] }));
  assert.equal(ex.sent.length, 0);
  assert.equal(s.stats().waitingForArgs, 1);
  store.sealInline("dep1", Uint8Array.of(1));
  assert.equal(ex.sent.length, 0);
  store.sealInline("dep2", Uint8Array.of(2));
  assert.deepEqual(ex.names().map(([, n]) => n), ["needs"]);
  assert.equal(s.stats().waitingForArgs, 0);
  store.expect("bad", 1);
  s.submit(spec("afterFailure", { deps: ["bad"] }));
  store.fail("bad", new Error("upstream"));
  assert.equal(ex.rejected[0]![0], "afterFailure");
  assert.match(ex.rejected[0]![1].message, /upstream/);
});

test("an argument whose only holder is known dead fails the task at once, never parks it (issue 19)", () => {
  const { store, ex, s } = setup(2, 2);
  // the cluster's side of the store: asking for an object whose holder died fails it there and then
  store.cluster = { demand: (e) => store.fail(e, new Error("the node holding it died")), freed: () => {} };
  const lost = store.expect("lost", 1);
  store.setRemote(lost, { node: "dead", size: 1 << 20 });
  store.expect("later", 1);
  s.submit(spec("onLost", { deps: ["lost"] }));
  assert.equal(ex.rejected.length, 1, "rejected at submission, not parked");
  assert.match(ex.rejected[0]![1].message, /died/);
  s.submit(spec("onBoth", { deps: ["later", "lost"] }));
  store.sealInline("later", Uint8Array.of(1));
  assert.deepEqual(ex.rejected.map(([n]) => n), ["onLost", "onBoth"]);
  assert.equal(s.stats().waitingForArgs, 0);
});

test("a blocked isolate gives back unstarted tasks and runs the task it waits for", () => {
  const { ex, s } = setup(1, 2);
  const parent = spec("parent");
  const other = spec("other");
  s.submit(parent);
  s.submit(other);
  const iso = ex.sent[0]![0];
  assert.deepEqual(ex.names(), [[iso, "parent"], [iso, "other"]], "pipelined into one isolate");
  const child = spec("child", { nested: true });
  s.submit(child);
  assert.equal(s.stats().queued, 1, "no CPU for the child");
  const r1 = s.blocked(iso, [child.returnIds[0]!], true);
  assert.equal(r1.reclaimed.length, 1, "'other' was taken back");
  assert.equal(r1.help, child, "it runs its own child nested");
  assert.equal(s.stats().resources.available.CPU, 0, "helping keeps the CPU");
  s.finished(iso, child, 1);
  // what it waits for now is running elsewhere: it parks and lends its CPU out
  const r2 = s.blocked(iso, ["running-elsewhere"], false);
  assert.equal(r2.help, undefined);
  assert.equal(s.stats().parked, 1);
  const otherIso = 1 - iso;
  assert.ok(ex.names().some(([i, name]) => i === otherIso && name === "other"), "the other isolate ran what was taken back");
  s.resumed(iso);
  assert.equal(s.stats().parked, 0);
  assert.equal(s.stats().resources.available.CPU, -1, "resuming may oversubscribe for a while");
  s.finished(otherIso, other, 1);
  s.finished(iso, parent, 1);
  assert.equal(s.stats().resources.available.CPU, 1, "everything came back");
});

test("with no idle isolate the pool grows; at its limit a parked isolate is lent work", () => {
  const { ex, s } = setup(2, 1);
  s.submit(spec("a"));
  s.blocked(0, ["x"], true);
  assert.equal(s.stats().parked, 1);
  const b = spec("b");
  s.submit(b);
  assert.ok(ex.grows >= 1, "asked to grow");
  assert.deepEqual(ex.lent.map(([i, t]) => [i, t.name]), [[0, "b"]], "at the limit the parked isolate runs it nested");
  assert.equal(s.stats().parked, 0);
  s.finished(0, b, 1);
  ex.canGrow = true;
  ex.onGrow = () => s.addIsolate(1);
  s.blocked(0, ["x"], false);
  s.submit(spec("c"));
  assert.ok(ex.names().some(([i, name]) => i === 1 && name === "c"), "a new isolate took it");
});

test("a large request is not starved by small ones submitted after it", () => {
  const { ex, s } = setup(2, 4);
  for (let i = 0; i < 10; i++) s.submit(spec("early"));
  s.submit(spec("big", { numCpus: 2 }));
  for (let i = 0; i < 40; i++) s.submit(spec("late"));
  const done = new Set<TaskSpec>();
  while (finishNext(s, ex, done));
  const order = ex.names().map(([, n]) => n);
  assert.equal(order.length, 51, "everything ran");
  const bigAt = order.indexOf("big");
  assert.ok(bigAt >= 0 && order.slice(0, bigAt).every((n) => n === "early"), `order: ${order.slice(0, bigAt + 2).join(",")}`);
  assert.equal(s.stats().resources.available.CPU, 2);
});

test("work spreads over idle isolates before pipelines deepen", () => {
  const { ex, s } = setup(2, 2);
  s.submit(spec("spreadA"));
  s.submit(spec("spreadA"));
  assert.deepEqual(new Set(ex.sent.map(([i]) => i)).size, 2, "one task per isolate");
  for (let i = 0; i < 6; i++) s.submit(spec("spreadA"));
  const perIso = [0, 1].map((iso) => ex.sent.filter(([i]) => i === iso).length);
  assert.ok(Math.abs(perIso[0]! - perIso[1]!) <= 1, `balanced: ${perIso}`);
});

test("a call with a deadline is never lent work", () => {
  const { ex, s } = setup(1, 1);
  s.submit(spec("parent"));
  const child = spec("child", { nested: true });
  s.submit(child);
  const r = s.blocked(0, [child.returnIds[0]!], true, false);
  assert.equal(r.help, undefined, "it parks instead of running its child");
  assert.equal(s.stats().parked, 1);
  assert.deepEqual(ex.lent, [], "not even at the pool's limit");
});

test("isolates idle for long are retired, down to the number kept", () => {
  const { s, clock } = setup(2, 4);
  assert.deepEqual(s.retireIdle(10_000, 2), [], "not idle long enough");
  clock.ms += 30;
  const retired = s.retireIdle(10, 2);
  assert.equal(retired.length, 2);
  assert.equal(s.stats().isolates, 2);
  assert.equal(s.stats().idle, 2);
});

test("reservations hold resources for their lifetime and keep their turn", () => {
  const { ex, s } = setup(2, 2);
  const granted: string[] = [];
  const a = () => granted.push("a");
  const b = () => granted.push("b");
  s.reserve(shapeOf({ numCpus: 1 }), a);
  assert.deepEqual(granted, ["a"], "granted at once while it fits");
  assert.equal(s.stats().resources.available.CPU, 1);
  s.submit(spec("before"));
  s.reserve(shapeOf({ numCpus: 1 }), b);
  s.submit(spec("after"));
  assert.deepEqual(granted, ["a"], "b waits: 'before' took the last CPU");
  assert.deepEqual(ex.names().map(([, n]) => n), ["before"], "'after' waits behind the reservation");
  s.finished(ex.sent[0]![0], ex.sent[0]![1], 1);
  assert.deepEqual(granted, ["a", "b"]);
  s.unreserve(a);
  assert.ok(ex.names().some(([, n]) => n === "after"), "'after' runs once a reservation is given back");
  const never = () => granted.push("never");
  s.reserve(shapeOf({ numCpus: 2 }), never);
  assert.ok(s.cancelReservation(never));
  s.unreserve(b);
  assert.ok(!granted.includes("never"));
});

test("an idle isolate steals the tasks a busy one has not started", () => {
  const { ex, s } = setup(2, 2);
  statsOf("tiny").avgMs = 0.01; // deep pipelines
  const long = spec("long");
  s.submit(long);
  for (let i = 0; i < 40; i++) s.submit(spec("tiny"));
  const longIso = ex.sent.find(([, t]) => t === long)![0];
  const other = 1 - longIso;
  ex.started.add(long);
  assert.ok(pipelineOf(ex, new Set(), longIso).length > 1, `tiny tasks were pipelined behind the long one: ${JSON.stringify(ex.names())}`);
  // the other isolate works through its own and then steals the rest, until only the long task is left
  const done = new Set<TaskSpec>();
  for (let guard = 0; guard < 1000; guard++) {
    const next = pipelineOf(ex, done, other)[0];
    if (!next) break;
    ex.started.add(next);
    done.add(next);
    s.finished(other, next, 0.01);
  }
  assert.equal(done.size, 40, "every tiny task ran on the other isolate");
  assert.deepEqual(pipelineOf(ex, done, longIso), [long], "nothing is stranded behind the long task");
  assert.ok(ex.stolen.length > 0 && ex.stolen.every(([i]) => i === longIso));
  assert.equal(s.stats().queued, 0);
});

test("a pipeline is not deepened behind a task that runs past its expected time", () => {
  const { ex, s, clock } = setup(2, 2);
  statsOf("quick").avgMs = 0.5;
  const first = spec("quick");
  s.submit(first);
  s.submit(spec("quick"));
  assert.equal(ex.sent.length, 2, "one each");
  ex.started.add(ex.sent[0]![1]).add(ex.sent[1]![1]);
  clock.ms += 10; // both run 20x longer than expected
  for (let i = 0; i < 10; i++) s.submit(spec("quick"));
  assert.equal(ex.sent.length, 2, "nothing more is sent behind overdue tasks");
  assert.equal(s.stats().queued, 10);
  s.finished(ex.sent[0]![0], first, 0.5);
  assert.ok(ex.sent.length > 2, "a free isolate takes them");
});

test("a free CPU with no idle isolate grows the pool to take an overdue isolate's backlog", () => {
  const { ex, s, clock } = setup(2, 1);
  statsOf("g").avgMs = 0.1;
  const head = spec("g");
  s.submit(head);
  for (let i = 0; i < 5; i++) s.submit(spec("g"));
  ex.started.add(head);
  ex.canGrow = true;
  ex.onGrow = () => s.addIsolate(1);
  clock.ms += 50;
  s.submit(spec("h")); // any event runs a pass
  assert.ok(ex.grows >= 1, "it grew");
  assert.ok(ex.sent.some(([i, t]) => i === 1 && t.name === "g"), "the new isolate took stolen tasks");
});

test("a task waiting for a resource an actor holds does not stall other shapes; stats say who holds it", () => {
  const { ex, s } = setup(2, 2, { gate: 1 });
  const actor = () => {};
  s.reserve(shapeOf({ numCpus: 0, resources: { gate: 1 } }), actor, "actor Gate (12345678)");
  s.submit(spec("gated", { resources: { gate: 1 } }));
  for (let i = 0; i < 5; i++) s.submit(spec("cpu"));
  const done = new Set<TaskSpec>();
  while (finishNext(s, ex, done));
  assert.equal(done.size, 5, "every CPU-only task ran");
  const w = s.stats().waiting;
  assert.equal(w.length, 1);
  assert.equal(w[0]!.what, "task 'gated'");
  assert.equal(w[0]!.heldByActors, true);
  assert.deepEqual(w[0]!.shortfall, [{ resource: "gate", needs: 1, available: 0, total: 1, heldBy: ["actor Gate (12345678)"] }]);
  assert.equal(s.stalls(0).length, 1, "reported once");
  assert.equal(s.stalls(0).length, 0);
  s.unreserve(actor);
  assert.ok(ex.names().some(([, n]) => n === "gated"), "it runs once the actor gives the resource back");
  assert.deepEqual(s.stats().waiting, []);
});

test("an actor waiting for another actor's resource does not hold back later actors or tasks", () => {
  const { ex, s } = setup(2, 2, { gate: 1 });
  const granted: string[] = [];
  const first = () => granted.push("first");
  s.reserve(shapeOf({ numCpus: 0, resources: { gate: 1 } }), first, "actor A");
  s.reserve(shapeOf({ numCpus: 0, resources: { gate: 1 } }), () => granted.push("second"), "actor B");
  s.reserve(shapeOf({ numCpus: 1 }), () => granted.push("third"), "actor C");
  s.submit(spec("work"));
  assert.deepEqual(granted, ["first", "third"]);
  assert.deepEqual(ex.names().map(([, n]) => n), ["work"]);
  assert.match(JSON.stringify(s.stats().waiting), /actor B.*gate.*actor A/);
  s.unreserve(first);
  assert.deepEqual(granted, ["first", "third", "second"]);
});

test("a parked isolate runs work that descends from its own task before the pool grows", () => {
  const { ex, s } = setup(1, 1);
  ex.canGrow = true;
  ex.onGrow = () => s.addIsolate(9);
  const parent = spec("parent");
  s.submit(parent);
  ex.started.add(parent);
  // the parent waits for something running elsewhere: it parks and lends its CPU out
  s.blocked(0, ["elsewhere"], true);
  assert.equal(s.stats().parked, 1);
  const grandchild = spec("grandchild", { nested: true });
  grandchild.parent = spec("child", { nested: true });
  grandchild.parent.parent = parent;
  s.submit(grandchild);
  assert.deepEqual(ex.lent.map(([i, t]) => [i, t.name]), [[0, "grandchild"]], "run nested by the waiting parent");
  assert.equal(ex.grows, 0, "no new isolate");
  s.finished(0, grandchild, 1);
  s.blocked(0, ["elsewhere"], false);
  s.submit(spec("stranger"));
  assert.equal(ex.grows, 1, "unrelated work gets a new isolate instead");
  assert.ok(ex.names().some(([i, n]) => i === 9 && n === "stranger"));
});

test("a resource an actor gives back goes to the older task waiting for it, not to a younger actor", () => {
  const { ex, s } = setup(2, 2, { gate: 1 });
  const granted: string[] = [];
  const first = () => granted.push("first");
  s.reserve(shapeOf({ numCpus: 0, resources: { gate: 1 } }), first, "actor A");
  const gated = spec("gated", { resources: { gate: 1 } });
  s.submit(gated);
  s.reserve(shapeOf({ numCpus: 0, resources: { gate: 1 } }), () => granted.push("younger"), "actor B");
  s.unreserve(first);
  assert.deepEqual(ex.names().map(([, n]) => n), ["gated"], "the older task took the gate");
  assert.deepEqual(granted, ["first"]);
  s.finished(ex.sent[0]![0], gated, 1);
  assert.deepEqual(granted, ["first", "younger"], "then the actor");
});

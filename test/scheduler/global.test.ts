import assert from "node:assert/strict";
import { test } from "node:test";
import { GlobalScheduler, PLACED_TASK_MS, UNIT, pickLeased, shapeOf } from "../../scheduler/index.js";

const cpu = (n: number) => ({ CPU: n * UNIT });
const idle = { available: {}, queued: 0, queueMs: 0, taskMs: 0.02, objects: 0, storeUsed: 0, storeCapacity: 0, actors: 0 };

function cluster(): GlobalScheduler {
  const g = new GlobalScheduler({ heartbeatMs: 1000 });
  g.addNode("a", cpu(2), false);
  g.addNode("b", cpu(1), false);
  g.addNode("drv", cpu(8), true);
  g.addNode("gpu", { ...cpu(1), GPU: UNIT }, false);
  return g;
}

test("placement: feasible nodes only, never a driver's, and none when no node could ever run it", () => {
  const g = cluster();
  assert.equal(g.place(shapeOf({ numGpus: 1 }), [])?.nodeId, "gpu");
  assert.equal(g.place(shapeOf({ numCpus: 4 }), []), undefined, "no node (but the driver's) has 4 CPUs");
  assert.equal(g.place(shapeOf({ resources: { tpu: 1 } }), []), undefined);
  for (let i = 0; i < 20; i++) assert.notEqual(g.place(shapeOf({}), [])?.nodeId, "drv");
});

test("placement: the node holding a large argument wins; a small one does not pull tasks to it", () => {
  const g = cluster();
  const shape = shapeOf({});
  for (let i = 0; i < 6; i++) assert.equal(g.place(shape, [{ size: 64 << 20, nodes: ["b"] }])?.nodeId, "b");
  // b is now charged 6 tasks beyond its 1 CPU; a 100-byte argument does not outweigh that
  assert.notEqual(g.place(shape, [{ size: 100, nodes: ["b"] }])?.nodeId, "b");
});

test("placement: a burst spreads (placements are charged until the next heartbeat), and a heartbeat resets the charge", () => {
  const g = cluster();
  const shape = shapeOf({});
  const counts = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    const n = g.place(shape, [])!.nodeId;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  assert.ok(counts.get("a")! > counts.get("b")!, `a has twice b's CPUs: ${JSON.stringify([...counts])}`);
  assert.ok(counts.get("b")! >= 5 && counts.get("gpu")! >= 5, JSON.stringify([...counts]));
  // b reports itself idle: it is preferred again over the charged nodes
  g.heartbeat("b", { ...idle, available: cpu(1) });
  assert.equal(g.place(shape, [])!.nodeId, "b");
});

test("leases: every feasible node with its wait and mean task time, the chosen node first", () => {
  const g = cluster();
  g.heartbeat("b", { ...idle, available: {}, queued: 100, queueMs: 100 * 0.02 });
  const shape = shapeOf({});
  const chosen = g.place(shape, [])!;
  const lease = g.lease(shape, chosen);
  assert.equal(lease[0]!.node, chosen.nodeId);
  assert.deepEqual(lease.map((n) => n.node).sort(), ["a", "b", "gpu"]);
  const b = lease.find((n) => n.node === "b")!;
  assert.equal(b.taskMs, 0.02);
  assert.ok(Math.abs(b.waitMs - 2) < 1e-9, `b's wait is its 100 queued tasks × 0.02 ms: ${b.waitMs}`);
  assert.equal(lease.find((n) => n.node === "a")!.taskMs, PLACED_TASK_MS, "a has not reported a task time");
  assert.deepEqual(g.lease(shapeOf({ numGpus: 1 }), g.node("gpu")!).map((n) => n.node), ["gpu"]);
});

test("lease choices follow CPUs and the caller's own outstanding tasks, and start after a node's reported wait", () => {
  const lease = [
    { node: "a", waitMs: 0, taskMs: 1, cpus: 2 },
    { node: "b", waitMs: 0, taskMs: 1, cpus: 1 },
    { node: "c", waitMs: 50, taskMs: 1, cpus: 1 },
  ];
  const out = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const n = lease[pickLeased(lease, (id) => out.get(id) ?? 0)]!.node;
    out.set(n, (out.get(n) ?? 0) + 1);
  }
  // c gets nothing until a and b each hold about 50 ms of work; a takes twice b's share throughout
  assert.ok(Math.abs(out.get("a")! - 2 * out.get("b")!) <= 2, JSON.stringify([...out]));
  assert.ok(out.get("c")! > 0 && out.get("c")! < out.get("b")!, JSON.stringify([...out]));
  // tasks done elsewhere (fewer outstanding) draw the next ones there
  assert.equal(lease[pickLeased(lease, (id) => (id === "b" ? 0 : 10))]!.node, "b");
});

test("failure detection: missed heartbeats make a node overdue; drivers are exempt; death is final", () => {
  const g = new GlobalScheduler({ heartbeatMs: 100, deadAfterBeats: 3 });
  g.addNode("h", cpu(1), false);
  g.addNode("d", cpu(0), true);
  const t0 = performance.now();
  assert.deepEqual(g.overdue(t0 + 250), []);
  // the head itself did not run for 200 ms: the deadline moves on by as much
  g.rearm(200, t0 + 250);
  assert.deepEqual(g.overdue(t0 + 450), [], "silence the head did not hear is not counted");
  assert.deepEqual(
    g.overdue(t0 + 501).map((n) => n.nodeId),
    ["h"],
  );
  assert.ok(g.markDead("h", "missed heartbeats"));
  assert.ok(!g.markDead("h", "again"));
  assert.equal(g.place(shapeOf({}), []), undefined, "a dead node gets nothing");
  assert.deepEqual(g.overdue(t0 + 10_000), [], "the dead node is not reported again; the driver never is");
});

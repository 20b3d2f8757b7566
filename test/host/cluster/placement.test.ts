// Owner-side placement (host/cluster/placement.ts) driven by hand: a real
// object store, a fake local queue, fake peers and a fake head whose
// answers the test gives when it chooses.
import assert from "node:assert/strict";
import { test } from "node:test";
import { childTaskId, keyToBytes, makeTaskId, objectKey } from "../../../common/ids.js";
import type { MessageType, PlacedReply, WireTask } from "../../../net/index.js";
import { MSG } from "../../../net/index.js";
import type { Shape, TaskSpec } from "../../../scheduler/index.js";
import { InfeasibleTaskError, UNIT, newTaskSpec, shapeOf } from "../../../scheduler/index.js";
import { Arena, FAILED, ObjectStore, READY } from "../../../store/index.js";
import { LOCALITY_BYTES, LOCAL_QUEUE_PER_CPU, Placement } from "../../../host/cluster/placement.js";
import type { HeadLink, PlacingNode, PlacingPeers, WireArgs } from "../../../host/cluster/placement.js";
import { NodeDiedError } from "../../../host/errors.js";

const SELF = "a".repeat(32);
const X = "b".repeat(32);
const Y = "c".repeat(32);

class FakeQueue {
  submitted: TaskSpec[] = [];
  backlog = 0;
  meanTaskMs = 1;
  readonly resources = {
    total: new Map([["CPU", 2 * UNIT]]),
    available: new Map([["CPU", 2 * UNIT]]),
    feasible: (s: Shape) => s.entries.every(([k, v]) => (this.resources.total.get(k) ?? 0) >= v),
  };
  submit(t: TaskSpec): void {
    this.submitted.push(t);
  }
}

class FakePeers implements PlacingPeers {
  readonly nodeId = SELF;
  sent: { to: string; type: MessageType; body: unknown; onError?: (e: Error) => void }[] = [];
  dead = new Map<string, string>();
  deathOf(id: string): string | undefined {
    return this.dead.get(id);
  }
  send(to: string, type: MessageType, body: unknown, onError?: (e: Error) => void): void {
    this.sent.push({ to, type, body, onError });
  }
}

class FakeHead implements Pick<HeadLink, "request"> {
  asked: { type: MessageType; body: WireTask; answer: (r: PlacedReply) => void; refuse: (e: Error) => void }[] = [];
  request<T>(type: MessageType, body: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.asked.push({ type, body: body as WireTask, answer: (r) => resolve(r as T), refuse: reject });
    });
  }
}

const root = makeTaskId(5, 6, 7, 8);
let n = 0;

function setup(options: { wireArgs?: (store: ObjectStore) => WireArgs } = {}) {
  const store = new ObjectStore(new Arena({ capacity: 1 << 20 }));
  const queue = new FakeQueue();
  const peers = new FakePeers();
  const head = new FakeHead();
  const released: TaskSpec[] = [];
  const node: PlacingNode = {
    store,
    scheduler: queue,
    reject: (t, e) => {
      for (const r of t.returns) store.fail(r, e);
    },
    releaseArgs: (t) => released.push(t),
    componentHash: () => "f".repeat(64),
    componentMemoryMb: () => undefined,
  };
  const placement = new Placement(node, peers, head, options.wireArgs?.(store) ?? ((t) => ({ deps: t.deps?.map((d) => ({ id: keyToBytes(d), size: 1, value: Uint8Array.of(0xc0) })), nested: undefined })));
  const task = (opts: { numCpus?: number; deps?: string[]; retries?: number } = {}): TaskSpec => {
    const taskId = childTaskId(root, n++);
    const id = objectKey(taskId, 1);
    return newTaskSpec({
      taskId,
      name: `t${n}`,
      nameBytes: new Uint8Array(0),
      stats: { avgMs: NaN },
      component: 0,
      kind: 0,
      args: Uint8Array.of(0x90),
      deps: opts.deps,
      nested: undefined,
      numReturns: 1,
      returnIds: [id],
      returns: [store.expect(id, 1)],
      shape: shapeOf({ numCpus: opts.numCpus }),
      retriesLeft: opts.retries ?? 3,
      timeoutMs: 0,
    });
  };
  /** Fills the local queue past the point where tasks stay here. */
  const busy = () => (queue.backlog = LOCAL_QUEUE_PER_CPU * 2);
  return { store, queue, peers, head, placement, task, released, busy };
}

const lease = (...nodes: string[]): PlacedReply["lease"] => nodes.map((node) => ({ node, waitMs: 0, taskMs: 1, cpus: 2 }));
const flush = () => new Promise((r) => setImmediate(r));

test("a task this node can run, with a short queue, runs here without asking the head", () => {
  const { queue, head, placement, task } = setup();
  const t = task();
  placement.submit(t);
  assert.deepEqual(queue.submitted, [t]);
  assert.equal(head.asked.length, 0);
});

test("a task no resource here can ever fit goes to the head's global scheduler", () => {
  const { queue, head, placement, task } = setup();
  placement.submit(task({ numCpus: 8 }));
  assert.equal(queue.submitted.length, 0);
  assert.equal(head.asked.length, 1);
  assert.equal(head.asked[0]!.type, MSG.TASK_SUBMIT);
});

test("a burst over a long local queue asks the head once; the lease it answers with takes the rest straight to the leased nodes", async () => {
  const { peers, head, placement, task, busy } = setup();
  busy();
  const tasks = Array.from({ length: 5 }, () => task());
  for (const t of tasks) placement.submit(t);
  assert.equal(head.asked.length, 1, "one request for the burst");
  head.asked[0]!.answer({ node: X, lease: lease(X, Y) });
  await flush();
  const runs = peers.sent.filter((s) => s.type === MSG.TASK_RUN);
  assert.equal(runs.length, 4, "the four held tasks went to leased nodes");
  assert.ok(runs.every((s) => s.to === X || s.to === Y));
  assert.ok(runs.some((s) => s.to === Y), "spread by the load of our tasks outstanding there");
  // a fresh lease: the next task goes straight too
  placement.submit(task());
  assert.equal(head.asked.length, 1);
  assert.equal(peers.sent.filter((s) => s.type === MSG.TASK_RUN).length, 5);
});

test("TASK_DONE seals the owner's results from the values it carries, and ends the task", async () => {
  const { store, head, placement, task, busy, released } = setup();
  busy();
  const t = task();
  let done = 0;
  t.onDone = () => done++;
  placement.submit(t);
  head.asked[0]!.answer({ node: X, lease: [] });
  await flush();
  placement.done({ id: keyToBytes(t.taskId.key), node: X, results: [{ value: Uint8Array.of(0x2a) }] });
  assert.equal(t.returns[0]!.state, READY);
  assert.deepEqual([...store.bytes(t.returns[0]!)!], [0x2a]);
  assert.equal(done, 1);
  assert.deepEqual(released, [t]);
});

test("a task on a node that dies is placed again, avoiding that node, while it has retries", async () => {
  const { head, placement, task, busy } = setup();
  busy();
  const t = task({ retries: 1 });
  placement.submit(t);
  head.asked[0]!.answer({ node: X, lease: [] });
  await flush();
  placement.nodeDied(X, "killed");
  assert.equal(head.asked.length, 2, "asked again");
  assert.deepEqual(head.asked[1]!.body.tried, [X]);
  assert.equal(head.asked[1]!.body.retries, 0);
  head.asked[1]!.answer({ node: Y, lease: [] });
  await flush();
  placement.nodeDied(Y, "killed too");
  const e = t.returns[0]!;
  assert.equal(e.state, FAILED);
  assert.ok(e.error instanceof NodeDiedError, String(e.error));
  assert.match(e.error.message, /killed too/);
});

test("a send to a leased node that cannot be reached places the task again", async () => {
  const { peers, head, placement, task, busy } = setup();
  busy();
  placement.submit(task());
  head.asked[0]!.answer({ node: X, lease: lease(X) });
  await flush();
  const t = task();
  placement.submit(t);
  const run = peers.sent.find((s) => s.type === MSG.TASK_RUN)!;
  assert.equal(run.to, X);
  run.onError!(new Error("connection refused"));
  assert.equal(head.asked.length, 2);
  assert.deepEqual(head.asked[1]!.body.tried, [X]);
});

test("the head's typed refusal fails the task with that error", async () => {
  const { head, placement, task } = setup();
  const t = task({ numCpus: 64 });
  placement.submit(t);
  const refusal = new InfeasibleTaskError(t.name, "CPU: needs 64, the largest node has 2");
  head.asked[0]!.refuse(refusal);
  await flush();
  assert.equal(t.returns[0]!.error, refusal);
});

test("a task waits here until its arguments are resolved: sealed here, or known to be on another node", async () => {
  const { store, queue, head, placement, task, busy } = setup();
  // the argument is the result of a task of ours that runs on X
  busy();
  const producer = task();
  placement.submit(producer);
  head.asked[0]!.answer({ node: X, lease: [] });
  await flush();
  queue.backlog = 0;
  const t = task({ deps: [producer.returnIds[0]!] });
  placement.submit(t);
  assert.deepEqual(queue.submitted, [], "not placed while its argument is pending");
  assert.equal(head.asked.length, 1);
  // TASK_DONE: a big result, kept on X; placing the task here would pull more than LOCALITY_BYTES
  placement.done({ id: keyToBytes(producer.taskId.key), node: X, results: [{ node: X, size: LOCALITY_BYTES + 1 }] });
  assert.equal(head.asked.length, 2, "placed by the global scheduler, for locality");
  assert.deepEqual(queue.submitted, []);
  const a = store.entry(producer.returnIds[0]!)!;
  assert.equal(a.remote?.node, X);
  // a small argument sealed here lets the next one run here
  const small = objectKey(root, 5000 + n);
  store.expect(small, 1);
  const u = task({ deps: [small] });
  placement.submit(u);
  assert.deepEqual(queue.submitted, []);
  store.sealInline(small, Uint8Array.of(1), undefined);
  assert.deepEqual(queue.submitted, [u]);
});

test("fencing: what a node declared dead sends later is ignored; the task placed again counts once", async () => {
  const { store, peers, head, placement, task, busy } = setup();
  busy();
  const t = task();
  placement.submit(t);
  head.asked[0]!.answer({ node: X, lease: [] });
  await flush();
  peers.dead.set(X, "missed heartbeats");
  placement.nodeDied(X, "missed heartbeats");
  head.asked[1]!.answer({ node: Y, lease: [] });
  await flush();
  // X wakes and reports the run it finished after it was declared dead
  placement.done({ id: keyToBytes(t.taskId.key), node: X, results: [{ value: Uint8Array.of(1) }] });
  assert.equal(t.returns[0]!.state, 0, "the zombie's result is not taken");
  placement.done({ id: keyToBytes(t.taskId.key), node: Y, results: [{ value: Uint8Array.of(2) }] });
  assert.deepEqual([...store.bytes(t.returns[0]!)!], [2]);
});

test("lineage: a result only a dead node held is made again, once whoever asks, and the lineage goes with it", async () => {
  const { store, peers, head, placement, task, busy, released } = setup();
  busy();
  const t = task();
  placement.submit(t);
  head.asked[0]!.answer({ node: X, lease: [] });
  await flush();
  placement.done({ id: keyToBytes(t.taskId.key), node: X, results: [{ node: X, size: 200_000 }] });
  const e = t.returns[0]!;
  assert.equal(e.remote?.node, X);
  assert.deepEqual(released, [], "the lineage keeps the task's arguments");
  peers.dead.set(X, "killed");
  assert.equal(placement.rebuild(e, "the node holding it died"), undefined);
  assert.equal(placement.rebuild(e, "asked again"), undefined);
  assert.equal(head.asked.length, 2, "one run remakes it");
  assert.equal(e.remote, undefined, "pending until the new run reports");
  head.asked[1]!.answer({ node: Y, lease: [] });
  await flush();
  placement.done({ id: keyToBytes(t.taskId.key), node: Y, results: [{ value: Uint8Array.of(7) }] });
  assert.deepEqual([...store.bytes(e)!], [7]);
  assert.deepEqual(released, [t, t], "the run's references, then the lineage's");
});

test("lineage: without retries left, or once evicted, a lost result cannot be made again and says why", async () => {
  const { store, head, placement, task, busy } = setup();
  busy();
  const once = task({ retries: 0 });
  placement.submit(once);
  head.asked[0]!.answer({ node: X, lease: [] });
  await flush();
  placement.done({ id: keyToBytes(once.taskId.key), node: X, results: [{ node: X, size: 200_000 }] });
  assert.match(placement.rebuild(once.returns[0]!, "X died") ?? "", /no retries left.*maxRetries/);
  // a result freed here takes its lineage with it: a later loss is not ours to remake
  const t = task();
  placement.submit(t);
  head.asked[1]!.answer({ node: X, lease: [] });
  await flush();
  placement.done({ id: keyToBytes(t.taskId.key), node: X, results: [{ node: X, size: 200_000 }] });
  store.cluster = { demand: () => {}, freed: (e) => placement.forget(e) };
  const e = t.returns[0]!;
  store.release(e);
  assert.equal(placement.rebuild(e, "X died"), "X died");
});

test("a failure at the root of a long chain fails every link, from the microtask queue, not the stack", async () => {
  // placing a link whose argument failed fails the link (as ClusterObjects.wireArgs does)
  const { store, placement, task, busy } = setup({
    wireArgs: (store) => (t) => {
      const bad = t.deps?.map((d) => store.entry(d)).find((e) => e?.state === FAILED);
      if (bad) {
        for (const r of t.returns) store.fail(r, bad.error!);
        return undefined;
      }
      return { deps: undefined, nested: undefined };
    },
  });
  busy();
  const root = store.expect("r".repeat(10), 1);
  const links: TaskSpec[] = [];
  let dep = root.key;
  for (let i = 0; i < 20_000; i++) {
    const t = task({ deps: [dep] });
    links.push(t);
    dep = t.returns[0]!.key;
  }
  for (const t of links) placement.submit(t);
  store.fail(root, new Error("the root failed"));
  for (let i = 0; i < 50 && links.at(-1)!.returns[0]!.state !== FAILED; i++) await flush();
  assert.equal(links.at(-1)!.returns[0]!.state, FAILED);
  assert.match(links.at(-1)!.returns[0]!.error!.message, /the root failed/);
});

/**
 * A cluster of separate processes on loopback: a head (with a host of its
 * own, 1 CPU) and two hosts, A (2 CPUs, resource `onlyA`) and B (1 CPU).
 * A driver in this process joins it with init({ address }).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import type { Driver } from "wray";
import { ActorNameTakenError, InfeasibleTaskError, init } from "wray";
import type { TestCluster } from "../cluster.js";
import { startCluster, until } from "../cluster.js";
import { guest, logInto } from "../helpers.js";

const HEARTBEAT_MS = 500;
/** Heartbeats a host may miss before the head declares it dead. */
const MISSED = 3;
/** Each test's limit: a hang fails the test that hung (and names it) instead of the whole file. */
const TEST_MS = 120_000;
let cluster: TestCluster;
let ray: Driver;
const driverLog: string[] = [];

before(async () => {
  cluster = await startCluster({
    heartbeatMs: HEARTBEAT_MS,
    headArgs: ["--num-cpus", "1", "--missed-heartbeats", String(MISSED)],
    hosts: [
      ["--num-cpus", "2", "--resources", '{"onlyA": 1, "pool": 1}'],
      ["--num-cpus", "1", "--resources", '{"pool": 1}'],
    ],
  });
  ray = await init({ address: cluster.address, token: cluster.token, log: logInto(driverLog) });
});

after(async () => {
  await ray?.shutdown();
  await cluster?.stop();
});

/**
 * Waits until every tag's `ran <tag>` line has come in: a host's log reaches
 * us through its stdout pipe, which can lag the result that came over ws.
 */
async function logged(tags: string[]): Promise<void> {
  await until(() => tags.every((t) => ranOn(t).length > 0), 10_000, "the hosts' log lines");
}

/** Which processes logged `ran <tag>`. */
function ranOn(tag: string): string[] {
  const who: string[] = [];
  for (const [name, p] of [["head", cluster.head], ["A", cluster.hosts[0]!], ["B", cluster.hosts[1]!]] as const) {
    if (p.lines(new RegExp(`ran ${tag}$`)).length > 0) who.push(name);
  }
  return who;
}

test("the same program runs on the cluster: tasks on other nodes, results back, failures re-raised", { timeout: TEST_MS }, async () => {
  // this test has hung in full runs and under load, never alone: each get
  // has its own limit, so a hang names its step, and the processes' last
  // lines are printed
  try {
    await sameProgram();
  } catch (e) {
    for (const [name, p] of [["head", cluster.head], ["A", cluster.hosts[0]!], ["B", cluster.hosts[1]!]] as const) {
      process.stderr.write(`--- last lines of ${name}:\n${p.lines(/./).slice(-25).join("\n")}\n`);
    }
    process.stderr.write(`--- driver:\n${driverLog.slice(-25).join("\n")}\n`);
    throw e;
  }
});

async function sameProgram(): Promise<void> {
  // each get names its step when it times out (an async stack does not reach this file)
  const get = async <T>(what: string, refs: import("wray").ObjectRef | readonly import("wray").ObjectRef[]): Promise<T> => {
    try {
      return (await ray.get(refs as import("wray").ObjectRef[], { timeoutMs: 30_000 })) as T;
    } catch (e) {
      if ((e as { code?: string }).code === "WRAY_GET_TIMEOUT") throw new Error(`step '${what}': ${(e as Error).message}`, { cause: e });
      throw e;
    }
  };
  const mod = await ray.load(guest("cluster"));
  const makeBytes = mod.fn<[number, number], Uint8Array>("makeBytes");
  const digest = mod.fn<[Uint8Array], number>("digest");
  // small and large results, refs passed on
  const small = await get<Uint8Array>("a small result", makeBytes.remote(1000, 3));
  assert.equal(small.length, 1000);
  assert.equal(small[999], (3 + 999 * 7) & 255);
  // over one pull chunk (4 MiB), so it comes in pieces
  const n = (4 << 20) + 12345;
  const bigRef = makeBytes.remote(n, 5);
  const big = await get<Uint8Array>("a result pulled in chunks", bigRef);
  assert.equal(big.length, n);
  assert.equal(big[n - 1], (5 + (n - 1) * 7) & 255);
  const local = await get<number>("a large argument by value", digest.remote(big));
  assert.equal(await get<number>("a large result passed by ref", digest.remote(bigRef)), local, "a large result passed by ref gives the same digest");
  // a driver's put, large, read by a task elsewhere
  const put = ray.put(big);
  assert.equal(await get<number>("a driver's put read elsewhere", digest.remote(put)), local);
  // a large typed array made on another node arrives whole, and lies aligned
  // in the driver's store: get gives a view of it, not a copy
  const floats = Float64Array.from({ length: 700_000 }, (_, i) => i * 0.25 - 3);
  const echoed = await get<Float64Array>("a typed array made elsewhere", mod.fn<[Float64Array], Float64Array>("echo").remote(floats));
  assert.ok(echoed instanceof Float64Array && echoed.length === floats.length && echoed.every((x, i) => x === floats[i]), "the Float64Array came back whole");
  assert.ok(echoed.buffer instanceof SharedArrayBuffer, "the pulled Float64Array is a view of the driver's store");
  // refs inside values: the guest gets an object held by another node
  const { ref } = await get<{ ref: import("wray").ObjectRef<Uint8Array> }>("a ref returned inside a value", mod.fn<[number, number], { ref: import("wray").ObjectRef<Uint8Array> }>("putBytes").remote(300_000, 9));
  const viaGuest = await get<number>("a guest getting a ref held elsewhere", mod.fn<[unknown[]], number>("digestRef").remote([ref]));
  assert.equal(viaGuest, await get<number>("the same object by value", digest.remote(await get<Uint8Array>("the nested ref's value", ref))));
  // many tasks spread over the nodes
  const tags = Array.from({ length: 40 }, (_, i) => `spread-${i}`);
  const where = mod.fn<[string], string>("where");
  assert.deepEqual(await get<string[]>("40 tasks spread over the nodes", tags.map((t) => where.remote(t))), tags);
  await logged(tags);
  const nodes = new Set(tags.flatMap((t) => ranOn(t)));
  assert.ok(nodes.size >= 2, `40 tasks from a driver with no CPUs ran on ${[...nodes].join(", ")}`);
  // a failure on another node is raised here with the guest's message
  await assert.rejects(get("a failure on another node", makeBytes.remote(-1, 0)), (e: Error & { code?: string }) => e.code === "WRAY_TASK_ERROR" && /makeBytes/.test(e.message) && /RangeError/.test(e.message));
}

test("a burst of tasks goes out on a lease: one placement by the head, the tasks spread over the nodes", { timeout: TEST_MS }, async () => {
  const mod = await ray.load(guest("cluster"));
  const where = mod.fn<[string], string>("where");
  // let the lease left by earlier tests go stale (LEASE_MS is 200 ms)
  await new Promise((r) => setTimeout(r, 400));
  const placedBefore = (await ray.clusterStatus())!.placed;
  const tags = Array.from({ length: 400 }, (_, i) => `burst-${i}`);
  assert.deepEqual(await ray.get(tags.map((t) => where.remote(t))), tags);
  const placed = (await ray.clusterStatus())!.placed - placedBefore;
  // the first task asks the head; the others wait for its answer and go straight to the leased nodes
  assert.ok(placed >= 1 && placed <= 3, `the head placed ${placed} of 400 tasks submitted at once`);
  await logged(tags);
  const per = [cluster.head, cluster.hosts[0]!, cluster.hosts[1]!].map((p) => p.lines(/ran burst-\d+$/).length);
  assert.equal(
    per.reduce((a, b) => a + b),
    400,
  );
  assert.ok(per.filter((n) => n > 0).length >= 2, `the burst ran on one node only: ${per.join(", ")}`);
});

test("a task needing a resource only one host has runs there; one no host has is infeasible", { timeout: TEST_MS }, async () => {
  const mod = await ray.load(guest("cluster"));
  const where = mod.fn<[string], string>("where");
  const tags = Array.from({ length: 6 }, (_, i) => `onlyA-${i}`);
  await ray.get(tags.map((t) => where.options({ resources: { onlyA: 1 } }).remote(t)));
  await logged(tags);
  for (const t of tags) assert.deepEqual(ranOn(t), ["A"], t);
  await assert.rejects(ray.get(where.options({ resources: { nowhere: 1 } }).remote("x")), InfeasibleTaskError);
});

test("tasks are placed on the host holding their large argument", { timeout: TEST_MS }, async () => {
  const mod = await ray.load(guest("cluster"));
  const makeBytes = mod.fn<[number, number], Uint8Array>("makeBytes");
  const digestAt = mod.fn<[Uint8Array, string], number>("digestAt");
  // 4 MiB made on A (only A has onlyA), then used by tasks any node could run
  const data = makeBytes.options({ resources: { onlyA: 1 } }).remote(4 << 20, 1);
  await ray.wait([data]);
  const tags = Array.from({ length: 4 }, (_, i) => `local-${i}`);
  const digests = await ray.get(tags.map((t) => digestAt.remote(data, t)));
  assert.equal(new Set(digests).size, 1);
  await logged(tags);
  for (const t of tags) assert.deepEqual(ranOn(t), ["A"], `${t} should run where its 4 MiB argument is`);
});

test("actors on remote hosts: called from the driver in order, from guests, by name; kill", { timeout: TEST_MS }, async () => {
  const mod = await ray.load(guest("cluster"));
  const Counter = mod.actor<{ inc(by?: number): number; read(): number }>("Counter");
  const c = Counter.remote(10);
  const incs = Array.from({ length: 50 }, () => c.inc.remote(1));
  assert.deepEqual(await ray.get(incs), Array.from({ length: 50 }, (_, i) => 11 + i), "calls run in the order they were made");
  // a guest on some node calls the actor on another
  const bump = mod.fn<[unknown, number], number>("bump");
  assert.equal(await ray.get(bump.remote(c, 5)), 65);
  assert.equal(await ray.get(c.read.remote()), 65);
  // named actors are unique across the cluster and found by name
  const named = Counter.options({ name: "shared-counter" }).remote(100);
  assert.equal(await ray.get(named.inc.remote(1)), 101);
  const again = await ray.getActor<{ inc(by?: number): number }>("shared-counter");
  assert.equal(await ray.get(again.inc.remote(1)), 102);
  const dup = Counter.options({ name: "shared-counter" }).remote(0);
  await assert.rejects(ray.get(dup.inc.remote(1)), (e: Error & { code?: string }) => e.code === "WRAY_ACTOR_DIED" && e.cause instanceof ActorNameTakenError);
  await ray.kill(named);
  await assert.rejects(ray.get(named.inc.remote(1)), (e: Error & { code?: string }) => e.code === "WRAY_ACTOR_DIED");
});

test("wray status shows the nodes as a table and as JSON", { timeout: TEST_MS }, async () => {
  const table = await cluster.cli(["status"]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`wray cluster at ${cluster.address.replace(/[/.]/g, "\\$&")}`));
  assert.match(table.stdout, /nodes: 3 alive, 1 driver\(s\), 0 dead/);
  assert.match(table.stdout, /NODE\s+STATE\s+KIND/);
  for (const p of [cluster.head, ...cluster.hosts]) assert.match(table.stdout, new RegExp(`${p.nodeId}\\s+alive\\s+node`));
  assert.match(table.stdout, /onlyA 1\/1/);
  const json = await cluster.cli(["status", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const s = JSON.parse(json.stdout) as { nodes: { nodeId: string; state: string; driver: boolean; resources: Record<string, number> }[] };
  assert.equal(s.nodes.filter((n) => n.state === "alive" && !n.driver).length, 3);
  assert.equal(s.nodes.find((n) => n.nodeId.startsWith(cluster.hosts[0]!.nodeId))!.resources.CPU, 2);
});

test("a connection without the token is refused and logged; garbage frames do not hurt the head", { timeout: TEST_MS }, async () => {
  const refused = (token: string | undefined) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(cluster.address, token === undefined ? {} : { headers: { "x-wray-token": token } });
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
      ws.on("error", () => {});
    });
  assert.equal(await refused(undefined), 401);
  assert.equal(await refused("wrong"), 401);
  await assert.rejects(init({ address: cluster.address, token: "wrong" }), (e: Error & { code?: string }) => e.code === "WRAY_UNAUTHORIZED");
  // the first refusal of a kind is logged at once; the rest are counted (net/guard.ts)
  await until(() => cluster.head.lines(/refused a connection from .*wrong or missing cluster token/).length >= 1, 5000, "a refusal in the head's log");
  // with the token, but speaking garbage
  for (const payload of [Buffer.from([0xc1, 0x00, 0xff]), Buffer.from("not msgpack at all"), Buffer.from([0x93, 0x7f, 0x01, 0x80])]) {
    const ws = new WebSocket(cluster.address, { headers: { "x-wray-token": cluster.token } });
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise((r) => ws.once("close", r));
    ws.send(payload);
    await closed;
  }
  assert.ok(cluster.head.lines(/closing the connection/).length >= 3, cluster.head.output());
  assert.equal(cluster.head.proc.exitCode, null, "the head lives");
  const mod = await ray.load(guest("cluster"));
  assert.equal(await ray.get(mod.fn<[string], string>("where").remote("after-garbage")), "after-garbage");
});

test("a host killed with SIGKILL is detected within 2 heartbeats; its queued tasks complete elsewhere", { timeout: TEST_MS }, async () => {
  const mod = await ray.load(guest("cluster"));
  const sleepy = mod.fn<[number, string], string>("sleepy");
  // warm B up so it has the component, then give it a backlog it cannot finish in time
  const victim = cluster.hosts[1]!;
  const tags = Array.from({ length: 12 }, (_, i) => `survive-${i}`);
  const refs = tags.map((t) => sleepy.options({ resources: { pool: 1 } }).remote(150, t));
  await until(() => victim.lines(/ran survive-/).length >= 1, 20_000, "B to start on the backlog");
  const killedAt = Date.now();
  victim.proc.kill("SIGKILL");
  // the head declares it dead within 2 heartbeat periods
  await until(
    async () => {
      const s = await ray.clusterStatus();
      return s!.nodes.some((n) => n.nodeId.startsWith(victim.nodeId) && n.state === "dead");
    },
    2 * HEARTBEAT_MS + 1000,
    "the victim to be declared dead",
  );
  const detectedMs = Date.now() - killedAt;
  assert.ok(detectedMs <= 2 * HEARTBEAT_MS + 200, `detected after ${detectedMs} ms`);
  // every task completes: those queued on B ran again on A
  assert.deepEqual(await ray.get(refs), tags);
  await logged(tags);
  const onB = tags.filter((t) => ranOn(t).includes("B"));
  const onA = tags.filter((t) => ranOn(t).includes("A"));
  assert.ok(onB.length < tags.length, "B did not finish its backlog before it died");
  assert.equal(onA.length + onB.length - tags.filter((t) => ranOn(t).length === 2).length, tags.length);
  const status = await cluster.cli(["status"]);
  assert.match(status.stdout, /nodes: 2 alive, 1 driver\(s\), 1 dead/);
});

test("a host that stops answering (SIGSTOP: its socket stays open) is declared dead by missed heartbeats, and joins again as a new node", { timeout: TEST_MS }, async () => {
  const frozen = await cluster.addHost(["--num-cpus", "1"]);
  await until(async () => (await ray.clusterStatus())!.nodes.some((n) => n.nodeId.startsWith(frozen.nodeId) && n.state === "alive"), 5000, "the new host");
  frozen.proc.kill("SIGSTOP");
  try {
    await until(
      async () => (await ray.clusterStatus())!.nodes.some((n) => n.nodeId.startsWith(frozen.nodeId) && n.state === "dead"),
      (MISSED + 1) * HEARTBEAT_MS + 10_000,
      "the frozen host to be declared dead",
    );
    const s = (await ray.clusterStatus())!;
    assert.match(s.nodes.find((n) => n.nodeId.startsWith(frozen.nodeId))!.death ?? "", /missed heartbeats/);
  } finally {
    frozen.proc.kill("SIGCONT");
  }
  // woken, it hears it was declared dead (fenced): it drops its work and joins as a new node, in the same process
  await until(() => frozen.lines(/wray node [0-9a-f]{8} joined/).length >= 2, 20_000, "the fenced host to join again as a new node");
  assert.match(frozen.output(), /was declared dead \(missed heartbeats.*joining again as a new node/);
  const again = /wray node ([0-9a-f]{8}) joined/.exec(frozen.lines(/wray node [0-9a-f]{8} joined/)[1]!)![1]!;
  assert.notEqual(again, frozen.nodeId);
  await until(async () => (await ray.clusterStatus())!.nodes.some((n) => n.nodeId.startsWith(again) && n.state === "alive" && n.pid === frozen.proc.pid), 10_000, "the new node in the table");
  assert.equal(frozen.proc.exitCode, null);
});

/**
 * Crashed machines cost time, never results: real processes (a head with
 * no CPUs of its own, hosts that join and die) and a driver in this
 * process. Each test makes its own cluster, kills what it kills, and
 * checks every result.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Driver, InitOptions } from "wray";
import { ActorDiedError, HeadUnavailableError, ObjectLostError, OwnerDiedError, init } from "wray";
import type { NodeProcess, TestCluster } from "../cluster.js";
import { startCluster, until } from "../cluster.js";
import { guest, logInto } from "../helpers.js";

const TEST_MS = 180_000;
const HEARTBEAT_MS = 500;
/** Larger than INLINE_MAX: such a result stays on the host that made it until someone pulls it. */
const N = 300_000;
const POOL = { resources: { pool: 1 } };
const HOST = ["--num-cpus", "1", "--resources", '{"pool": 1}'];

/** What makeBytes(n, seed) returns. */
function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 7) & 255;
  return b;
}

/** The guest's digest (FNV-1a with the length folded in). */
function digestOf(data: Uint8Array): number {
  let h = 0x811c9dc5 ^ data.length;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h >>> 0;
}

function xorOf(data: Uint8Array, k: number): Uint8Array {
  return data.map((x) => x ^ k);
}

/** A cluster with a head of no CPUs and `hosts`, a driver joined to it; both stopped after `fn`. */
async function withCluster(hosts: string[][], fn: (c: TestCluster, ray: Driver, log: string[]) => Promise<void>, options: { headArgs?: string[]; init?: Partial<InitOptions> } = {}): Promise<void> {
  const cluster = await startCluster({ heartbeatMs: HEARTBEAT_MS, headArgs: ["--num-cpus", "0", "--missed-heartbeats", "3", ...(options.headArgs ?? [])], hosts });
  const log: string[] = [];
  let ray: Driver | undefined;
  try {
    ray = await init({ address: cluster.address, token: cluster.token, log: logInto(log), ...options.init });
    await fn(cluster, ray, log);
  } finally {
    await ray?.shutdown();
    await cluster.stop();
  }
}

async function killAndWait(ray: Driver, victim: NodeProcess): Promise<void> {
  victim.proc.kill("SIGKILL");
  await until(async () => (await ray.clusterStatus())!.nodes.some((n) => n.nodeId.startsWith(victim.nodeId) && n.state === "dead"), 30_000, `node ${victim.nodeId} to be declared dead`);
}

test("results that lived only on a killed host are rebuilt from their lineage: get, a dependent task and a chain all return the right values", { timeout: TEST_MS }, async () => {
  await withCluster([HOST], async (cluster, ray, log) => {
    const mod = await ray.load(guest("cluster"));
    const make = mod.fn<[number, number], Uint8Array>("makeBytes").options(POOL);
    const xor = mod.fn<[Uint8Array, number, string], Uint8Array>("xorBytes").options(POOL);
    const digest = mod.fn<[Uint8Array], number>("digest").options(POOL);
    const a = make.remote(N, 1);
    const b = make.remote(N, 2);
    const c1 = xor.remote(a, 0x5a, "c1");
    const c2 = xor.remote(c1, 0x0f, "c2");
    const want = { a: bytesOf(N, 1), b: bytesOf(N, 2) };
    const wantC2 = xorOf(xorOf(want.a, 0x5a), 0x0f);
    // every result is made on B and stays there: the driver fetches only their digests (made on B too)
    assert.deepEqual(await ray.get([digest.remote(a), digest.remote(b), digest.remote(c2)]), [digestOf(want.a), digestOf(want.b), digestOf(wantC2)]);
    const B = cluster.hosts[0]!;
    const A = await cluster.addHost(HOST);
    await killAndWait(ray, B);
    // the chain first: c2 needs c1, which needs a; all three were on B
    const got = await ray.get(c2);
    assert.equal(digestOf(got), digestOf(wantC2));
    assert.deepEqual(got, wantC2);
    // a dependent task submitted after the death, on a lost argument
    assert.equal(await ray.get(digest.remote(b)), digestOf(want.b));
    assert.deepEqual(await ray.get(a), want.a);
    // the chain ran again on A (guests' lines reach their driver, marked with the node)
    const ranOnA = (tag: string) => log.some((l) => l.includes(`node=${A.nodeId}`) && l.endsWith(`xor ${tag}`));
    await until(() => ranOnA("c1") && ranOnA("c2"), 10_000, "the driver's log of the chain A reran");
  });
});

test("an object that cannot be rebuilt fails fast with ObjectLostError naming why, and a task taking it fails too: no hang", { timeout: TEST_MS }, async () => {
  await withCluster(
    [HOST],
    async (cluster, ray) => {
      const mod = await ray.load(guest("cluster"));
      const make = mod.fn<[number, number], Uint8Array>("makeBytes").options(POOL);
      const digest = mod.fn<[Uint8Array], number>("digest").options(POOL);
      const noRetry = make.options({ ...POOL, maxRetries: 0 }).remote(N, 3);
      const first = make.remote(N, 4);
      // lineage is kept for at most maxLineageBytes: the later tasks' specs push out the first's
      const later = Array.from({ length: 40 }, (_, i) => make.remote(N, 10 + i));
      assert.equal((await ray.get([digest.remote(noRetry), digest.remote(first), ...later.map((r) => digest.remote(r))])).length, 42);
      await cluster.addHost(HOST);
      await killAndWait(ray, cluster.hosts[0]!);
      const started = Date.now();
      await assert.rejects(ray.get(noRetry), (e: Error) => e instanceof ObjectLostError && /maxRetries/.test(e.message));
      await assert.rejects(ray.get(digest.remote(noRetry)), (e: Error) => e instanceof ObjectLostError && /maxRetries/.test(e.message));
      await assert.rejects(ray.get(first), (e: Error) => e instanceof ObjectLostError && /lineage/.test(e.message));
      assert.ok(Date.now() - started < 30_000, "typed errors, not timeouts");
      // what still has lineage is rebuilt
      assert.deepEqual(await ray.get(later[39]!), bytesOf(N, 49));
    },
    { init: { maxLineageBytes: 4096 } },
  );
});

type Counter = { inc(by?: number): number; read(): number };

test("the head killed mid-job and restarted on its session: hosts and the driver stay up, every result is right, the named actor is found", { timeout: TEST_MS }, async () => {
  await withCluster(
    [
      ["--num-cpus", "1", "--resources", '{"pool": 1, "keep": 1}'],
      ["--num-cpus", "1", "--resources", '{"pool": 1}'],
    ],
    async (cluster, ray, log) => {
      const mod = await ray.load(guest("cluster"));
      const where = mod.fn<[string], string>("where").options(POOL);
      const Keeper = mod.actor<Counter>("Counter", { name: "keeper", resources: { keep: 1 } });
      const keeper = Keeper.remote(100);
      assert.equal(await ray.get(keeper.inc.remote(1)), 101);
      const before = Array.from({ length: 300 }, (_, i) => `before-${i}`);
      const first = before.map((t) => where.remote(t));
      const oldHead = cluster.head;
      oldHead.proc.kill("SIGKILL");
      await until(() => oldHead.proc.signalCode !== null, 10_000, "the head to die");
      // submitted while there is no head: they wait, or go on leases the driver holds
      const during = Array.from({ length: 100 }, (_, i) => `during-${i}`);
      const second = during.map((t) => where.remote(t));
      await cluster.restartHead();
      assert.deepEqual(await ray.get(first), before);
      assert.deepEqual(await ray.get(second), during);
      // the named actor is in the restored tables, alive on its host, with its state
      const found = await ray.getActor<Counter>("keeper");
      assert.equal(await ray.get(found.inc.remote(1)), 102);
      for (const h of cluster.hosts) assert.equal(h.proc.exitCode, null, "hosts stay up while the head is away");
      for (const h of cluster.hosts) await until(() => h.lines(/connected to the head at .* again/).length > 0, 10_000, `host ${h.nodeId} to say it is back`);
      assert.ok(log.some((l) => /connected to the head at .* again/.test(l)), "the driver came back too");
      const s = (await ray.clusterStatus())!;
      for (const h of cluster.hosts) assert.equal(s.nodes.find((n) => n.nodeId.startsWith(h.nodeId))?.state, "alive");
      assert.equal(await ray.get(where.remote("after")), "after");
      // the old head's own node died with it: once the restored head's wait for it is over, it is dead
      await until(async () => (await ray.clusterStatus())!.nodes.some((n) => n.nodeId.startsWith(oldHead.nodeId) && n.state === "dead"), 30_000, "the old head's node to be declared dead");
      assert.match(cluster.head.output(), /node \w+ is dead: it did not connect again after the head restarted/);
    },
  );
});

test("a head paused for 2 s (SIGSTOP) declares nobody dead when it wakes", { timeout: TEST_MS }, async () => {
  await withCluster([HOST, HOST], async (cluster, ray) => {
    const mod = await ray.load(guest("cluster"));
    const where = mod.fn<[string], string>("where").options(POOL);
    assert.equal(await ray.get(where.remote("warm")), "warm");
    cluster.head.proc.kill("SIGSTOP");
    // longer than the 3 missed heartbeats of 500 ms the head allows
    await new Promise((r) => setTimeout(r, 2000));
    cluster.head.proc.kill("SIGCONT");
    await until(() => cluster.head.lines(/did not run for \d+ ms/).length > 0, 10_000, "the head to notice its own pause");
    const tags = Array.from({ length: 50 }, (_, i) => `after-pause-${i}`);
    assert.deepEqual(await ray.get(tags.map((t) => where.remote(t))), tags);
    const s = (await ray.clusterStatus())!;
    assert.deepEqual(s.nodes.filter((n) => n.state !== "alive").map((n) => `${n.nodeId} ${n.death}`), [], "nobody was declared dead");
    assert.equal(cluster.head.lines(/is dead/).length, 0, cluster.head.output());
    for (const h of cluster.hosts) assert.equal(h.proc.exitCode, null);
  });
});

test("a host paused for 5 s is fenced: declared dead, its work runs elsewhere, what it sends on waking is ignored, and it joins again as a new node", { timeout: TEST_MS }, async () => {
  await withCluster([HOST, HOST], async (cluster, ray, log) => {
    const mod = await ray.load(guest("cluster"));
    const sleepy = mod.fn<[number, string], string>("sleepy").options(POOL);
    // one long task per host: whichever host is paused is in the middle of one
    const refs = [sleepy.remote(3000, "long-0"), sleepy.remote(3000, "long-1")];
    // both started (a guest logs only when done, so ask the status for busy CPUs)
    await until(async () => (await ray.clusterStatus())!.nodes.filter((n) => !n.driver && (n.available.pool ?? 1) === 0).length === 2, 20_000, "both long tasks to start");
    const frozen = cluster.hosts[0]!;
    frozen.proc.kill("SIGSTOP");
    try {
      await until(async () => (await ray.clusterStatus())!.nodes.some((n) => n.nodeId.startsWith(frozen.nodeId) && n.state === "dead"), 30_000, "the paused host to be declared dead");
      // its task finishes elsewhere while it sleeps
      assert.deepEqual(await ray.get(refs), ["long-0", "long-1"]);
    } finally {
      frozen.proc.kill("SIGCONT");
    }
    await until(() => frozen.lines(/wray node [0-9a-f]{8} joined/).length >= 2, 30_000, "the fenced host to join again as a new node");
    assert.match(frozen.output(), /declared dead .*joining again as a new node/);
    const tags = Array.from({ length: 20 }, (_, i) => `after-fence-${i}`);
    assert.deepEqual(await ray.get(tags.map((t) => sleepy.remote(1, t))), tags);
  });
});

test("SIGTERM to the head and its hosts at once: each drains and exits 0, no errors, no session folder left", { timeout: TEST_MS }, async () => {
  for (let round = 0; round < 3; round++) {
    const cluster = await startCluster({ heartbeatMs: HEARTBEAT_MS, headArgs: ["--num-cpus", "1"], hosts: [HOST, HOST] });
    try {
      const ray = await init({ address: cluster.address, token: cluster.token, log: () => {}, headReconnectTimeoutMs: 1000 });
      const mod = await ray.load(guest("cluster"));
      const where = mod.fn<[string], string>("where").options(POOL);
      assert.equal(await ray.get(where.remote("x")), "x");
      // actors alive and tasks running when the signal comes, a driver still connected
      const counters = [0, 1, 2].map((i) => mod.actor<Counter>("Counter", { lifetime: "detached", name: `c${round}-${i}` }).remote(i));
      for (const c of counters) await ray.get(c.inc.remote(1));
      const busy = Array.from({ length: 20 }, (_, i) => mod.fn<[number, string], string>("sleepy").options(POOL).remote(50, `busy-${i}`));
      void ray.get(busy).catch(() => {});
      const all = [cluster.head, ...cluster.hosts];
      const exits = all.map((p) => new Promise<number | null>((r) => p.proc.once("exit", (code) => r(code))));
      for (const p of all) p.proc.kill("SIGTERM");
      const codes = await Promise.race([Promise.all(exits), new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the nodes did not exit in 30 s")), 30_000))]);
      assert.deepEqual(codes, [0, 0, 0], all.map((p) => p.output()).join("\n---\n"));
      for (const p of all) assert.doesNotMatch(p.output(), /Error|LEVEL_|failed/, p.output());
      assert.match(cluster.head.output(), /head stopped/);
      const sessions = join(cluster.home, "sessions");
      assert.deepEqual(existsSync(sessions) ? readdirSync(sessions) : [], [], "no session folder left");
      await ray.shutdown();
    } finally {
      await cluster.stop();
    }
  }
});

test("actors whose node dies restart on another (maxRestarts) under the same name; calls in flight are sent again with maxTaskRetries, else fail", { timeout: TEST_MS }, async () => {
  await withCluster([["--num-cpus", "1", "--resources", '{"home": 2}']], async (cluster, ray) => {
    type Slow = Counter & { slowInc(ms: number): number };
    const mod = await ray.load(guest("cluster"));
    const retried = mod.actor<Slow>("Counter", { resources: { home: 1 }, maxRestarts: 1, maxTaskRetries: 1, name: "survivor" }).remote(0);
    const once = mod.actor<Slow>("Counter", { resources: { home: 1 }, maxRestarts: 1 }).remote(0);
    assert.equal(await ray.get(retried.inc.remote(5)), 5);
    assert.equal(await ray.get(once.inc.remote(5)), 5);
    const second = await cluster.addHost(["--num-cpus", "1", "--resources", '{"home": 2}']);
    // calls sent to the node that is about to die
    const inFlight = retried.slowInc.remote(3000);
    const lost = once.slowInc.remote(3000);
    await killAndWait(ray, cluster.hosts[0]!);
    // restarted from the constructor (0) on the new host; the call in flight ran there again
    assert.equal(await ray.get(inFlight), 1);
    await assert.rejects(ray.get(lost), (e: Error) => e instanceof ActorDiedError && /maxTaskRetries/.test(e.message));
    assert.equal(await ray.get(retried.inc.remote(1)), 2);
    assert.equal(await ray.get(once.inc.remote(1)), 1);
    const byName = await ray.getActor<Counter>("survivor");
    assert.equal(await ray.get(byName.read.remote()), 2);
    assert.match(cluster.head.output(), /actor Counter 'survivor' \(\w+\) restarts on node/);
    // no restarts left: the next node death is its death
    await cluster.addHost(["--num-cpus", "1", "--resources", '{"home": 2}']);
    await killAndWait(ray, second);
    await assert.rejects(ray.get(retried.read.remote()), (e: Error) => e instanceof ActorDiedError && /node died/.test(e.message));
  });
});

test("a put whose owner died with every copy is gone: OwnerDiedError (an ObjectLostError) at once, not a hang", { timeout: TEST_MS }, async () => {
  await withCluster([HOST], async (cluster, ray) => {
    const mod = await ray.load(guest("cluster"));
    // a task on the host puts 300 KB and returns the ref: the host owns the put
    const { ref } = await ray.get(mod.fn<[number, number], { ref: import("wray").ObjectRef<Uint8Array> }>("putBytes").options(POOL).remote(300_000, 9));
    await cluster.addHost(HOST);
    await killAndWait(ray, cluster.hosts[0]!);
    await assert.rejects(ray.get(ref), (e: Error) => e instanceof OwnerDiedError && e instanceof ObjectLostError && /its owner, node [0-9a-f]{8}, died/.test(e.message));
  });
});

test("a checkpointed actor whose node dies restarts on another from its last checkpoint, and the calls made after it are replayed in order", { timeout: TEST_MS }, async () => {
  await withCluster([["--num-cpus", "1", "--resources", '{"home": 1}']], async (cluster, ray) => {
    type Durable = { add(i: number): number; state(): { value: number; seen: number[] } };
    const mod = await ray.load(guest("actors"));
    const d = mod.actor<Durable>("Durable", { resources: { home: 1 }, maxRestarts: 1, checkpointInterval: 3 }).remote(100);
    // a checkpoint after calls 1-3 (it reaches this driver before call 4's result); calls 4 and 5 come after it
    for (let i = 1; i <= 5; i++) assert.equal(await ray.get(d.add.remote(i)), 100 + (i * (i + 1)) / 2);
    await cluster.addHost(["--num-cpus", "1", "--resources", '{"home": 1}']);
    await killAndWait(ray, cluster.hosts[0]!);
    assert.deepEqual(await ray.get(d.state.remote()), { value: 115, seen: [1, 2, 3, 4, 5] });
    assert.equal(await ray.get(d.add.remote(6)), 121);
  });
});

test("a head stopped in order (SIGTERM) takes its hosts with it at once: they do not wait for it to come back", { timeout: TEST_MS }, async () => {
  const cluster = await startCluster({ heartbeatMs: HEARTBEAT_MS, headArgs: ["--num-cpus", "0"], hosts: [HOST] });
  try {
    const host = cluster.hosts[0]!;
    const exited = new Promise<number | null>((r) => host.proc.once("exit", (code) => r(code)));
    cluster.head.proc.kill("SIGTERM");
    // well within the 60 s it would keep connecting to a head that died
    const code = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the host did not exit after the head stopped:\n${host.output()}`)), 20_000))]);
    assert.equal(code, 0, host.output());
    assert.match(host.output(), /connection to the head closed: it stopped .*: stopping/);
  } finally {
    await cluster.stop();
  }
});

test("a head that dies and never comes back: what needs it fails with HeadUnavailableError after headReconnectTimeoutMs, hosts exit 1, nothing hangs", { timeout: TEST_MS }, async () => {
  const cluster = await startCluster({ heartbeatMs: HEARTBEAT_MS, headArgs: ["--num-cpus", "0"], hosts: [[...HOST, "--head-reconnect-timeout-ms", "3000"]] });
  let ray: Driver | undefined;
  try {
    ray = await init({ address: cluster.address, token: cluster.token, log: () => {}, headReconnectTimeoutMs: 3000 });
    const mod = await ray.load(guest("cluster"));
    const where = mod.fn<[string], string>("where");
    assert.equal(await ray.get(where.options(POOL).remote("before")), "before");
    const host = cluster.hosts[0]!;
    const hostExit = new Promise<number | null>((r) => host.proc.once("exit", (code) => r(code)));
    cluster.head.proc.kill("SIGKILL");
    // a task no lease covers (another shape) must go through the head, which is gone
    const started = Date.now();
    await assert.rejects(ray.get(where.options({ resources: { pool: 0.5 } }).remote("never")), (e: Error) => e instanceof HeadUnavailableError && /was not reachable for 3 s/.test(e.message));
    assert.ok(Date.now() - started < 60_000);
    assert.equal(await Promise.race([hostExit, new Promise<string>((r) => setTimeout(() => r("still running"), 30_000))]), 1, host.output());
    assert.match(host.output(), /not reachable for 3 s.*: stopping/);
    // the driver has left its cluster: later calls say so
    assert.throws(() => where.remote("later"), HeadUnavailableError);
  } finally {
    await ray?.shutdown();
    await cluster.stop();
  }
});

test("restarts on a host and after node deaths share one maxRestarts: an actor that restarted on its host has none left when its node dies", { timeout: TEST_MS }, async () => {
  await withCluster([["--num-cpus", "1", "--resources", '{"home": 1}']], async (cluster, ray) => {
    const mod = await ray.load(guest("actors"));
    type Trappy = Counter & { trap(): number };
    const c = mod.actor<Trappy>("Counter", { resources: { home: 1 }, maxRestarts: 1 }).remote(7);
    await assert.rejects(ray.get(c.trap.remote()), (e: Error) => /trap/i.test(e.message));
    assert.equal(await ray.get(c.inc.remote(1)), 8, "restarted on its host from its constructor");
    await until(() => cluster.head.lines(/actor Counter \(\w+\) restarted on node \w+: 0 restart\(s\) left/).length > 0, 20_000, "the head to count the restart");
    await cluster.addHost(["--num-cpus", "1", "--resources", '{"home": 1}']);
    await killAndWait(ray, cluster.hosts[0]!);
    await assert.rejects(ray.get(c.read.remote()), (e: Error) => e instanceof ActorDiedError && /node died/.test(e.message));
  });
});

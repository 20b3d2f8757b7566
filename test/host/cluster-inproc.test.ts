/**
 * A whole cluster inside this process over the in-process transport: a
 * head, two hosts and a driver, each with its own object store, talking
 * the same protocol (frames encoded and decoded) as over WebSockets.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Driver } from "wray";
import { init } from "wray";
import { ClusterNode, Head, HostNode, InprocTransport } from "wray/host";
import { guest, logInto } from "../helpers.js";
import { tempDir } from "../temp.js";

const TOKEN = "inproc-token";
let dir: Awaited<ReturnType<typeof tempDir>>;
let head: Head;
const hosts: { name: string; node: HostNode; cluster: ClusterNode; log: string[] }[] = [];
let ray: Driver;
const transport = new InprocTransport();

before(async () => {
  dir = await tempDir();
  // every node shares this thread, which a component's compilation blocks for a while: long heartbeats
  head = await Head.start({ token: TOKEN, directory: dir.path, port: 0, heartbeatMs: 10_000, transport, log: () => {} });
  for (const [name, numCpus] of [
    ["A", 2],
    ["B", 1],
  ] as const) {
    const log: string[] = [];
    const node = new HostNode({ numCpus, log: logInto(log) });
    node.start();
    const cluster = await ClusterNode.join(node, { address: head.address, token: TOKEN, transport, log: () => {} });
    hosts.push({ name, node, cluster, log });
  }
  ray = await init({ address: head.address, token: TOKEN, transport, log: () => {} });
});

after(async () => {
  await ray?.shutdown();
  for (const h of hosts) {
    await h.cluster.close();
    await h.node.close();
  }
  await head?.close();
  await dir?.remove();
});

test("an in-process cluster runs tasks on its hosts and moves large results between stores", async () => {
  assert.match(head.address, /^inproc:\/\//);
  const mod = await ray.load(guest("cluster"));
  const where = mod.fn<[string], string>("where");
  const tags = Array.from({ length: 60 }, (_, i) => `t${i}`);
  assert.deepEqual(await ray.get(tags.map((t) => where.remote(t))), tags);
  const ran = hosts.map((h) => h.log.filter((l) => /ran t\d+$/.test(l)).length);
  assert.equal(
    ran.reduce((a, b) => a + b),
    60,
  );
  assert.ok(ran.every((n) => n > 0), `every host ran some: ${ran.join(", ")}`);
  // a result over one chunk comes to the driver's store in pieces
  const n = (4 << 20) + 777;
  const big = await ray.get(mod.fn<[number, number], Uint8Array>("makeBytes").remote(n, 2));
  assert.equal(big.length, n);
  assert.equal(big[n - 1], (2 + (n - 1) * 7) & 255);
});

test("an in-process cluster runs actors on its hosts, called in order", async () => {
  const mod = await ray.load(guest("cluster"));
  const Counter = mod.actor<{ inc(by?: number): number }>("Counter");
  const c = Counter.remote(10);
  const got = await ray.get(Array.from({ length: 30 }, () => c.inc.remote(1)));
  assert.deepEqual(
    got,
    Array.from({ length: 30 }, (_, i) => 11 + i),
  );
  assert.equal(hosts.reduce((k, h) => k + h.node.actors.count().alive, 0), 1, "the actor lives on one of the hosts");
});

test("an actor created for a driver that has left dies at once (a task of its program outlived it)", async () => {
  const quick = await init({ address: head.address, token: TOKEN, transport, log: () => {}, numGpus: 0 });
  const mod = await quick.load(guest("cluster"));
  // the task runs on; the driver leaves before the task creates its actor
  mod.fn<[number, string], string>("spawnLater").remote(500, "late");
  await quick.shutdown();
  const record = async () => {
    for (const [, a] of await head.store.scan<{ name?: string; state: string; death?: string }>("actors")) if (a.name === "late") return a;
    return undefined;
  };
  const deadline = Date.now() + 20_000;
  while ((await record()) === undefined) {
    assert.ok(Date.now() < deadline, "the task did not create its actor");
    await new Promise((r) => setTimeout(r, 20));
  }
  const settled = Date.now() + 5000;
  while ((await record())!.state !== "dead") {
    assert.ok(Date.now() < settled, "the actor outlived its driver");
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match((await record())!.death ?? "", /its driver [0-9a-f]{8} exited/);
  await assert.rejects(ray.getActor("late"));
});

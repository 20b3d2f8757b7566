/**
 * A cluster's life as a user meets it, on separate processes: a head
 * listening on 127.0.0.2 (with a node of its own, 1 CPU) and a host whose
 * peer server is 127.0.0.3 (2 CPUs, resource `onlyA`), so nothing may
 * assume 127.0.0.1. Drivers join it from this process and from child
 * processes; actors are owned by their drivers; guests' logs reach their
 * driver; `wray stop` ends it in order and leaves nothing behind.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import type { Driver, LogRecord } from "wray";
import { ActorNotFoundError, ConnectionFailedError, NoClusterError, formatLog, init } from "wray";
import type { TestCluster } from "../cluster.js";
import { runNode, startCluster, until } from "../cluster.js";
import { guest } from "../helpers.js";
import { tempDir } from "../temp.js";

const TEST_MS = 120_000;
const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
let cluster: TestCluster;
let ray: Driver;
const records: LogRecord[] = [];
type Counter = { inc(by?: number): number; read(): number; say(text: string): number };

before(async () => {
  cluster = await startCluster({
    heartbeatMs: 500,
    headArgs: ["--host", "127.0.0.2", "--num-cpus", "1"],
    hosts: [["--node-ip-address", "127.0.0.3", "--num-cpus", "2", "--resources", '{"onlyA": 1}']],
  });
  ray = await init({ address: cluster.address, token: cluster.token, nodeIpAddress: "127.0.0.4", log: (r) => records.push(r) });
});

after(async () => {
  await ray?.shutdown();
  await cluster?.stop();
});

/** Runs a driver script in a process of its own with this cluster's WRAY_HOME (and `env`); its exit code and output. */
function driverProcess(script: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, WRAY_HOME: cluster.home, ...env };
  delete childEnv.WRAY_TOKEN;
  if (!("WRAY_ADDRESS" in env)) delete childEnv.WRAY_ADDRESS;
  return runNode(["--input-type=module", "-e", `import * as wray from ${JSON.stringify(DIST)};\n${script}`], childEnv);
}

async function status() {
  return (await ray.clusterStatus())!;
}

test("nodes serve peers at the addresses they were given, and objects travel between them", { timeout: TEST_MS }, async () => {
  const s = await status();
  const host = s.nodes.find((n) => n.nodeId.startsWith(cluster.hosts[0]!.nodeId))!;
  const head = s.nodes.find((n) => n.nodeId.startsWith(cluster.head.nodeId))!;
  const me = s.nodes.find((n) => n.driver)!;
  assert.match(cluster.address, /^ws:\/\/127\.0\.0\.2:\d+$/);
  assert.match(head.address, /^ws:\/\/127\.0\.0\.2:\d+$/, "the head's node serves where the head listens");
  assert.match(host.address, /^ws:\/\/127\.0\.0\.3:\d+$/);
  assert.match(me.address, /^ws:\/\/127\.0\.0\.4:\d+$/);
  const mod = await ray.load(guest("cluster"));
  // the host pulls the driver's object from 127.0.0.4, the driver the host's result from 127.0.0.3
  const data = ray.put(new Uint8Array(3 << 20).map((_, i) => i * 7));
  const digest = mod.fn<[Uint8Array], number>("digest");
  const onA = { resources: { onlyA: 1 } };
  const local = await ray.get(digest.remote(new Uint8Array(3 << 20).map((_, i) => i * 7)));
  assert.equal(await ray.get(digest.options(onA).remote(data)), local);
  const made = mod.fn<[number, number], Uint8Array>("makeBytes").options(onA).remote(2 << 20, 5);
  const bytes = await ray.get(made);
  assert.equal(bytes.length, 2 << 20);
  assert.equal(bytes[1], 12);
});

test("a driver without nodeIpAddress serves at the address that reaches the head; WRAY_ADDRESS and address 'auto' join the running cluster", { timeout: TEST_MS }, async () => {
  const script = `
    const ray = await wray.init(${"process.env.HOW === 'auto' ? { address: 'auto' } : {}"});
    const me = (await ray.clusterStatus()).nodes.find((n) => n.driver && n.pid === process.pid);
    const m = await ray.load(${JSON.stringify(guest("cluster"))});
    const tag = await ray.get(m.fn("where").options({ resources: { onlyA: 1 } }).remote("from-" + process.env.HOW));
    console.log("address", me.address, "result", tag);
    await ray.shutdown();`;
  // the same program, unchanged: with WRAY_ADDRESS (and the token file of WRAY_HOME), then with address "auto"
  const env = await driverProcess(script, { WRAY_ADDRESS: cluster.address, HOW: "env" });
  assert.equal(env.code, 0, env.stderr);
  assert.match(env.stdout, /address ws:\/\/127\.\d+\.\d+\.\d+:\d+ result from-env/);
  // its task's line came to it, printed with the task and the node (the default log)
  assert.match(env.stdout, new RegExp(`^\\(where node=${cluster.hosts[0]!.nodeId}\\) ran from-env$`, "m"));
  assert.equal(env.stderr, "", "a CPU-only driver prints nothing on stderr (no GPU stack)");
  const auto = await driverProcess(script, { HOW: "auto" });
  assert.equal(auto.code, 0, auto.stderr);
  assert.match(auto.stdout, /result from-auto/);
});

test("init's connection errors are typed and say what to check", { timeout: TEST_MS }, async () => {
  // a port nothing listens on (taken, then let go)
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.2", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  const address = `ws://127.0.0.2:${port}`;
  await assert.rejects(
    init({ address, token: cluster.token, numGpus: 0 }),
    (e: unknown) => e instanceof ConnectionFailedError && e.code === "WRAY_CONNECTION_FAILED" && e.address === address && e.message.includes(address) && /is the head running/.test(e.message),
  );
  await assert.rejects(init({ address: "127.0.0.2:6380", numGpus: 0 }), (e: unknown) => e instanceof TypeError && /ws:\/\/HOST:PORT/.test((e as Error).message));
  // "auto" with no head started on this machine (another WRAY_HOME)
  const empty = await tempDir();
  try {
    const r = await driverProcess(`try { await wray.init({ address: "auto" }); } catch (e) { console.log(e.code, e.message); }`, { WRAY_HOME: empty.path });
    assert.match(r.stdout, /^WRAY_NO_CLUSTER no wray cluster to join: .*wray start --head/);
  } finally {
    await empty.remove();
  }
  assert.equal(typeof NoClusterError, "function");
});

test("guest logs reach the driver that ran them, marked with task or actor and node; nested tasks' too", { timeout: TEST_MS }, async () => {
  const mod = await ray.load(guest("cluster"));
  const onA = { resources: { onlyA: 1 } };
  const hostId = (await status()).nodes.find((n) => n.nodeId.startsWith(cluster.hosts[0]!.nodeId))!.nodeId;
  assert.equal(await ray.get(mod.fn<[string], string>("where").options(onA).remote("log-1")), "log-1");
  const line = records.find((r) => r.text === "ran log-1");
  assert.ok(line, `the driver got the line (it has ${records.map(formatLog).join(" | ")})`);
  assert.deepEqual({ ...line, node: line.node?.slice(0, 8) }, { level: "info", source: "guest", text: "ran log-1", task: "where", node: hostId.slice(0, 8) });
  assert.equal(formatLog(line), `(where node=${hostId.slice(0, 8)}) ran log-1`);
  // the host still has it in its own log
  await until(() => cluster.hosts[0]!.lines(/\(where\) ran log-1$/).length === 1, 10_000, "the host's own log line");
  // an actor's warning (the actor is on whichever node the head chose)
  const c = mod.actor<Counter>("Counter").remote(7);
  assert.equal(await ray.get(c.say.remote("actor speaking"), { timeoutMs: 30_000 }), 7);
  const warn = records.find((r) => r.text === "actor speaking")!;
  assert.equal(warn.level, "warn");
  assert.equal(warn.actor, "Counter");
  assert.equal(warn.task, "say");
  assert.ok((await status()).nodes.some((n) => !n.driver && n.nodeId === warn.node), `${warn.node} is a node of the cluster`);
  assert.match(formatLog(warn), new RegExp(`^\\(Counter node=${warn.node!.slice(0, 8)}\\) warn actor speaking$`));
  // a task that a guest submitted: its line goes to the driver of the program, not to the node that submitted it
  assert.equal(await ray.get(mod.fn<[string], string>("relay").options(onA).remote("nested-1"), { timeoutMs: 30_000 }), "nested-1");
  await until(() => records.some((r) => r.text === "ran nested-1" && r.task === "where"), 10_000, "the nested task's line at the driver");
  assert.ok(records.some((r) => r.text === "relaying nested-1" && r.task === "relay"));
  await ray.kill(c);
});

test("actors die with the driver that made them unless detached; drivers leave the table; their objects are freed", { timeout: TEST_MS }, async () => {
  const script = `
    const ray = await wray.init({ address: process.env.ADDR, log: () => {} });
    const m = await ray.load(${JSON.stringify(guest("cluster"))});
    const Counter = m.actor("Counter");
    const owned = Counter.options({ name: "owned" }).remote(1);
    const kept = Counter.options({ name: "kept", lifetime: "detached" }).remote(100);
    await ray.get([owned.inc.remote(1), kept.inc.remote(1)]);
    // a large result stays on the host for its owner until the owner frees it, or leaves
    globalThis.big = m.fn("makeBytes").options({ resources: { onlyA: 1 } }).remote(3 << 20, 1);
    await ray.wait([globalThis.big]);
    const s = await ray.clusterStatus();
    console.log("ready", s.nodes.find((n) => n.nodeId.startsWith(process.env.HOST)).objects, s.actors.alive);
    process.exit(0); // no shutdown: the driver just ends, as a crashed program would`;
  const before = await status();
  const hostBefore = before.nodes.find((n) => n.nodeId.startsWith(cluster.hosts[0]!.nodeId))!;
  const r = await driverProcess(script, { ADDR: cluster.address, HOST: cluster.hosts[0]!.nodeId });
  assert.equal(r.code, 0, r.stderr);
  const ready = /^ready ([1-9]\d*) (\d+)$/m.exec(r.stdout);
  assert.ok(ready, r.stdout);
  const aliveThen = Number(ready[2]);
  await until(
    async () => {
      const s = await status();
      const host = s.nodes.find((n) => n.nodeId.startsWith(cluster.hosts[0]!.nodeId))!;
      return s.nodes.filter((n) => n.driver).length === 1 && host.objects <= hostBefore.objects;
    },
    20_000,
    "the driver to leave the table and its objects to be freed",
  );
  await until(async () => ray.getActor("owned").then(() => false, (e: unknown) => e instanceof ActorNotFoundError), 10_000, "the driver's actor to die with it");
  // `wray status` counts one actor fewer (the hosts' heartbeats say so)
  await until(async () => (await status()).actors.alive <= aliveThen - 1, 10_000, "the status to count the dead actor out");
  const s = await status();
  assert.ok(!s.nodes.some((n) => n.driver && n.state === "dead"), "a driver that left is not a dead node");
  const kept = await ray.getActor<Counter>("kept");
  assert.equal(await ray.get(kept.inc.remote(1)), 102, "the detached actor kept its state");
  await ray.kill(kept);
  await until(async () => ray.getActor("kept").then(() => false, (e: unknown) => e instanceof ActorNotFoundError), 10_000, "the killed actor's name to be free");
  const table = await cluster.cli(["status"]);
  assert.match(table.stdout, /nodes: 2 alive, 1 driver\(s\), 0 dead/);
});

test("wray stop ends the cluster in order: no errors in the head's log, no session folder, no node files", { timeout: TEST_MS }, async () => {
  const mod = await ray.load(guest("cluster"));
  const c = mod.actor<Counter>("Counter", { resources: { onlyA: 1 } }).options({ name: "at-stop" }).remote(1);
  // the actor holds onlyA: it is on the host, which `wray stop` stops first
  assert.equal(await ray.get(c.inc.remote(1)), 2);
  assert.equal(readdirSync(join(cluster.home, "sessions")).length, 1);
  const stopped = await cluster.cli(["stop"]);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, /stopped 2 wray node\(s\)\n$/);
  for (const p of [cluster.head, ...cluster.hosts]) {
    await until(() => p.proc.exitCode !== null || p.proc.signalCode !== null, 15_000, `node ${p.nodeId} to exit`);
    assert.equal(p.proc.exitCode, 0, p.output());
  }
  const headLog = cluster.head.output();
  assert.doesNotMatch(headLog, /Error|\n\s+at /, headLog);
  assert.match(headLog, /\(wray\) head stopped/);
  assert.deepEqual(readdirSync(join(cluster.home, "sessions")), []);
  assert.ok(!existsSync(join(cluster.home, "head.json")));
  assert.deepEqual(readdirSync(join(cluster.home, "nodes")), []);
});

test("a head whose port is taken says so in one line, exits 1 and leaves no session folder", { timeout: TEST_MS }, async () => {
  const home = await tempDir();
  const taken = createServer();
  try {
    await new Promise<void>((r) => taken.listen(0, "127.0.0.2", r));
    const port = (taken.address() as { port: number }).port;
    const r = await runNode([CLI, "start", "--head", "--host", "127.0.0.2", "--port", String(port), "--num-gpus", "0"], { ...process.env, WRAY_HOME: home.path });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`wray start: cannot listen on 127\\.0\\.0\\.2:${port}: the port is in use`));
    assert.doesNotMatch(r.stderr, /\n\s+at |EADDRINUSE/, r.stderr);
    const sessions = join(home.path, "sessions");
    assert.deepEqual(existsSync(sessions) ? readdirSync(sessions) : [], []);
  } finally {
    taken.close();
    await home.remove();
  }
});

/**
 * The state API across real processes: a head (no CPUs) and a host that
 * runs the tasks, a driver in this process. Task events travel from both
 * nodes to the head; the driver's `ray.state` and the CLI (`wray list`,
 * `summary`, `get`, `timeline`, plain and --json) read them there.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { test } from "node:test";
import type { Driver, TaskRecord, TaskSummaryRow } from "wray";
import { init } from "wray";
import { startCluster, until } from "../cluster.js";
import { guest } from "../helpers.js";

const TEST_MS = 180_000;

test("state API across nodes: tasks with their history, node and guest error; summary; actors; nodes; timeline; the CLI plain and --json", { timeout: TEST_MS }, async () => {
  const cluster = await startCluster({ heartbeatMs: 300, headArgs: ["--num-cpus", "0"], hosts: [["--num-cpus", "2"]] });
  let ray: Driver | undefined;
  try {
    ray = await init({ address: cluster.address, token: cluster.token, log: () => {} });
    const errs = await ray.load(guest("errors"));
    const acts = await ray.load(guest("actors"));
    const oks = Array.from({ length: 20 }, (_, i) => errs.fn("ok").remote(i));
    const bad = errs.fn("fail").remote("no good");
    const c = acts.actor("Counter").options({ name: "state-counter" }).remote(5);
    assert.equal(await ray.get(c.inc!.remote(2)), 7);
    await ray.get(oks);
    await assert.rejects(ray.get(bad));
    const host = cluster.hosts[0]!.nodeId;

    // the driver's view (its events are sent with the query; the host's come with its heartbeats)
    let failed: TaskRecord[] = [];
    await until(async () => (failed = await ray!.state.listTasks({ state: "failed" })).length === 1, 30_000, "the failed task to reach the head");
    const f = failed[0]!;
    assert.equal(f.name, "fail");
    assert.equal(f.taskId, bad.hex.slice(0, 32), "a task's ID is its results' first 32 hex digits");
    assert.ok(f.node.startsWith(host), `it ran on the host (${f.node})`);
    assert.match(f.error!.message, /no good/);
    assert.ok(f.error!.stack && /index\.ts:\d+/.test(f.error!.stack), `the guest stack names the source: ${f.error!.stack}`);
    assert.ok(f.times.submitted! <= f.times.scheduled! && f.times.scheduled! <= f.times.failed!, "its history is in order");
    await until(async () => (await ray!.state.listTasks({ name: "ok", state: "finished" })).length === 20, 30_000, "the 20 finished tasks");
    const summary = await ray.state.summarizeTasks();
    const okRow = summary.find((r) => r.name === "ok")!;
    assert.equal(okRow.states.finished, 20);
    assert.ok(okRow.p50Ms > 0 && okRow.p99Ms >= okRow.p50Ms);
    const inc = (await ray.state.listTasks({ name: "Counter.inc" }))[0]!;
    assert.equal(inc.kind, "actor_method");
    assert.match(inc.actor!, /Counter$/);
    const actors = await ray.state.listActors({ name: "state-counter" });
    assert.equal(actors.length, 1);
    assert.deepEqual([actors[0]!.className, actors[0]!.state], ["Counter", "alive"]);
    const nodes = await ray.state.listNodes();
    assert.ok(nodes.some((n) => n.nodeId.startsWith(host)) && nodes.some((n) => n.driver), "nodes and drivers");

    // the CLI, plain and --json
    const cli = async (...args: string[]) => {
      const r = await cluster.cli(args);
      assert.equal(r.code, 0, `wray ${args.join(" ")} failed:\n${r.stderr}`);
      return r.stdout;
    };
    const plain = await cli("list", "tasks", "--state", "failed");
    assert.match(plain, /^TASK ID\s+NAME\s+STATE/m);
    assert.match(plain, new RegExp(`${f.taskId}\\s+fail\\s+failed.*no good`));
    const json = JSON.parse(await cli("list", "tasks", "--filter", "name=ok", "--limit", "5", "--json")) as TaskRecord[];
    assert.equal(json.length, 5);
    assert.ok(json.every((t) => t.name === "ok" && t.state === "finished"));
    assert.match(await cli("summary", "tasks"), /^ok\s+task\s+20\s+/m);
    assert.equal((JSON.parse(await cli("summary", "tasks", "--json")) as TaskSummaryRow[]).find((r) => r.name === "ok")!.total, 20);
    const one = await cli("get", "task", f.taskId.slice(0, 12));
    assert.match(one, /name\s+fail \(task\)/);
    assert.match(one, /guest stack\n\s+.*index\.ts/);
    assert.equal((JSON.parse(await cli("get", "task", f.taskId, "--json")) as TaskRecord).error!.name, "TypeError");
    assert.match(await cli("list", "actors"), /Counter\s+state-counter\s+alive/);
    assert.equal(JSON.parse(await cli("list", "actors", "--json")).length, 1);
    assert.match(await cli("list", "nodes"), new RegExp(`^${host}`, "m"));
    assert.equal((JSON.parse(await cli("list", "drivers", "--json")) as { driver: boolean }[]).every((n) => n.driver), true);
    const missing = await cluster.cli(["get", "task", "00000000000000000000000000000000"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no task/);
    const usage = await cluster.cli(["list", "things"]);
    assert.equal(usage.code, 2);

    // the timeline: one complete event per task run, valid Chrome trace JSON
    const file = join(cluster.home, "trace.json");
    assert.match(await cli("timeline", "-o", file), /wrote \d+ task runs/);
    const trace = JSON.parse(readFileSync(file, "utf8")) as { traceEvents: { name: string; ph: string; ts: number; dur: number; pid: string; tid: number }[] };
    const runs = trace.traceEvents.filter((e) => e.name === "ok");
    assert.equal(runs.length, 20, "one event per run of ok");
    assert.ok(runs.every((e) => e.ph === "X" && e.dur > 0 && Number.isInteger(e.tid) && e.pid.includes(host)));
    assert.ok(trace.traceEvents.some((e) => e.name === "Counter.inc"));
    const fromDriver = await ray.timeline(join(cluster.home, "driver-trace.json"));
    assert.equal(fromDriver.filter((e) => e.name === "ok").length, 20);

    // logs: what an actor printed, plain, --json, and --follow (a process of its own, stopped by its PID)
    const utils = await ray.load(guest("utils"));
    const w = utils.actor("Worker").remote();
    await ray.get(w.shout!.remote("first line"));
    await until(async () => (await cluster.cli(["logs", "--actor", "Worker"])).stdout.includes("first line"), 30_000, "the actor's line to reach the head");
    assert.match(await cli("logs", "--actor", "Worker"), /\(Worker\.shout\) first line/);
    const lines = (await cli("logs", "--actor", "Worker", "--json")).trim().split("\n").map((l) => JSON.parse(l) as { text: string; actor: string });
    assert.deepEqual(lines.map((l) => [l.text, l.actor]), [["first line", "Worker"]]);
    const follow = spawn(process.execPath, [fileURLToPath(new URL("../../dist/cli.js", import.meta.url)), "logs", "--actor", "Worker", "--follow"], { env: { ...process.env, WRAY_HOME: cluster.home }, stdio: ["ignore", "pipe", "pipe"] });
    let followed = "";
    follow.stdout.on("data", (d: Buffer) => (followed += d.toString()));
    try {
      await until(() => followed.includes("first line"), 30_000, "logs --follow to print what is there");
      await ray.get(w.shout!.remote("second line"));
      await until(() => followed.includes("second line"), 30_000, "logs --follow to print a new line");
    } finally {
      follow.kill("SIGTERM");
    }

    // memory: every node's store, the driver's put among its objects
    const big = ray.put(new Uint8Array(300_000).fill(7));
    const mem = JSON.parse(await cli("memory", "--json")) as { node: string; memory?: { objects: { id: string; where: string; size: number }[] } }[];
    assert.ok(mem.length >= 3, "the head's node, the host and the driver answer");
    assert.ok(mem.some((n) => n.memory?.objects.some((o) => o.id === big.hex && o.where === "shared" && o.size > 300_000)), "the driver's put is listed where it is");
    assert.match(await cli("memory"), /^NODE\s+OBJECTS\s+INLINE\s+SHARED/m);
    const objs = JSON.parse(await cli("list", "objects", "--filter", "where=shared", "--json")) as { id: string; where: string }[];
    assert.ok(objs.some((o) => o.id === big.hex) && objs.every((o) => o.where === "shared"));
    assert.match(await cli("list", "objects"), new RegExp(`^${big.hex}\\s+\\w{8}\\s+ready\\s+shared`, "m"));
  } finally {
    await ray?.shutdown();
    await cluster.stop();
  }
});

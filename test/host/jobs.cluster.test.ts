/**
 * Jobs (issue 23): a compiled program deployed to a real cluster (a head
 * with 1 CPU and a host with 2, each a process of its own) runs on after
 * the client that submitted it has gone; `wray job` and `ray.jobs` see it
 * through; a stop cancels its tasks, kills its actors and frees its
 * objects; its records outlive a head restart.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Driver, JobRecord, JobLogLine } from "wray";
import { ActorNotFoundError, ComponentInvalidError, ComponentNotFoundError, JobFailedError, JobNotFoundError, NoClusterError, UnknownFunctionError, init } from "wray";
import type { TestCluster } from "../cluster.js";
import { startCluster, until } from "../cluster.js";
import { guest } from "../helpers.js";

const TEST_MS = 180_000;
let cluster: TestCluster;
let ray: Driver;
const APP = guest("jobs");

before(async () => {
  cluster = await startCluster({ heartbeatMs: 500, headArgs: ["--num-cpus", "1"], hosts: [["--num-cpus", "2"]] });
  ray = await init({ address: cluster.address, token: cluster.token, log: () => {} });
});

after(async () => {
  await ray?.shutdown();
  await cluster?.stop();
});

/** `wray job ...` with this cluster's WRAY_HOME; fails the test, showing its output, on an unexpected exit code. */
async function job(args: string[], code = 0): Promise<{ stdout: string; stderr: string }> {
  const r = await cluster.cli(["job", ...args]);
  assert.equal(r.code, code, `wray job ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function record(id: string): Promise<JobRecord> {
  return JSON.parse((await job(["status", id, "--json"])).stdout) as JobRecord;
}

test("a job submitted by a client that then leaves runs to the end; another client sees its result, node and logs", { timeout: TEST_MS }, async () => {
  // the CLI process submits and exits at once
  const submitted = await job(["submit", APP, "--entry", "main", "--name", "sum", "--", "2", "3", "x", '"4"']);
  const id = submitted.stdout.trim();
  assert.match(id, /^[0-9a-f]{16}$/, `submit prints the job's ID, got: ${submitted.stdout}`);
  // this test's driver is another client
  const h = await ray.jobs.get(id);
  const done = await h.wait({ timeoutMs: 60_000 });
  assert.equal(done.state, "succeeded", JSON.stringify(done.error));
  assert.deepEqual(done.result, { sum: 5, words: ["x", "4"] }, "arguments after -- are JSON where they parse");
  assert.deepEqual(await h.result(), done.result);
  assert.equal(done.name, "sum");
  // the node the entry ran on comes with the task events of the node that ran it
  await until(async () => /^[0-9a-f]{32}$/.test((await h.status()).node ?? ""), 30_000, "the job's record to name the node its entry ran on");
  assert.ok(done.startedAt! >= done.submittedAt && done.endedAt! >= done.startedAt!);
  const lines = await h.logs();
  const texts = lines.map((l: JobLogLine) => l.text);
  assert.ok(texts.includes("main started with 2 and 3"), `the entry's lines: ${JSON.stringify(texts)}`);
  assert.ok(texts.includes("adding 2 and 3"), "a nested task's lines are the job's too");
  assert.equal(lines.find((l) => l.text === "main got 5")?.level, "warn");
  assert.deepEqual(await h.logs({ since: lines[0]!.seq }), lines.slice(1), "since: only later lines");
  // the job's driver left when it ended: it is no longer in the cluster
  await until(async () => !(await ray.clusterStatus())!.nodes.some((n) => n.nodeId === done.driver && n.state === "alive"), 30_000, "the job's driver to leave");
});

test("--wait prints the job's logs as it runs and exits with its status; a failing job shows the guest's error and stack", { timeout: TEST_MS }, async () => {
  const ok = await job(["submit", APP, "--entry", "main", "--wait", "--", "10", "20"]);
  assert.match(ok.stdout, /main started with 10 and 20/);
  assert.match(ok.stdout, /\(add\) adding 10 and 20/);
  assert.match(ok.stdout, /job [0-9a-f]{16} succeeded: \{"sum":30,"words":\[\]\}/);
  const bad = await job(["submit", APP, "--entry", "fails", "--wait", "--", "on purpose"], 1);
  assert.match(bad.stdout, /about to fail/);
  assert.match(bad.stderr, /job [0-9a-f]{16} failed: TaskError: .*RangeError: exploded on purpose: on purpose/);
  assert.match(bad.stderr, /explode/, `the guest's stack names the function that threw:\n${bad.stderr}`);
  const id = /job ([0-9a-f]{16}) failed/.exec(bad.stderr)![1]!;
  const r = await record(id);
  assert.equal(r.state, "failed");
  assert.equal(r.error?.name, "TaskError");
  assert.match(r.error?.stack ?? "", /explode/);
  // the API says the same, typed
  await assert.rejects((await ray.jobs.get(id)).result(), (e: unknown) => e instanceof JobFailedError && /exploded on purpose/.test(e.message));
});

test("wray job list, status and logs, as text and as --json", { timeout: TEST_MS }, async () => {
  const h = await ray.jobs.submit(APP, { entry: "main", args: [1, 1], name: "listed" });
  await h.wait({ timeoutMs: 60_000 });
  const list = await job(["list"]);
  const row = list.stdout.split("\n").find((l) => l.startsWith(h.id));
  assert.ok(row, `the list has the job:\n${list.stdout}`);
  assert.match(row!, /listed\s+main\s+succeeded/);
  assert.match(list.stdout.split("\n")[0]!, /^JOB ID\s+NAME\s+ENTRY\s+STATE\s+SUBMITTED\s+ENDED\s+NODE/);
  const rows = JSON.parse((await job(["list", "--json"])).stdout) as JobRecord[];
  assert.equal(rows.find((r) => r.id === h.id)?.state, "succeeded");
  assert.deepEqual((await ray.jobs.list()).find((r) => r.id === h.id)?.result, { sum: 2, words: [] });
  const status = await job(["status", h.id]);
  assert.match(status.stdout, new RegExp(`job ${h.id} \\(listed\\): succeeded`));
  assert.match(status.stdout, /result\s+\{"sum":2,"words":\[\]\}/);
  const logs = await job(["logs", h.id]);
  assert.match(logs.stdout, /^\(main\) main started with 1 and 1$/m);
  assert.match(logs.stdout, /^\(add\) adding 1 and 1$/m);
  const jsonLines = (await job(["logs", h.id, "--json"])).stdout.trim().split("\n").map((l) => JSON.parse(l) as JobLogLine);
  assert.ok(jsonLines.some((l) => l.text === "main got 5" || l.text === "main got 2"));
  // bad input: typed errors and one line each
  const missing = await job(["status", "0123456789abcdef"], 1);
  assert.match(missing.stderr, /no job '0123456789abcdef'/);
  await assert.rejects(ray.jobs.get("0123456789abcdef"), JobNotFoundError);
  await assert.rejects(ray.jobs.submit(APP, { entry: "nope" }), UnknownFunctionError);
  const notWasm = join(cluster.home, "not.wasm");
  writeFileSync(notWasm, "not a component");
  await assert.rejects(ray.jobs.submit(notWasm, { entry: "main" }), ComponentInvalidError);
  await assert.rejects(ray.jobs.submit(join(cluster.home, "missing.wasm"), { entry: "main" }), ComponentNotFoundError);
  await assert.rejects(ray.jobs.submit(APP, { entry: "main", args: [ray.put(1)] }), TypeError);
  const usage = await job(["submit", APP], 2);
  assert.match(usage.stderr, /--entry/);
  const local = await init({ numCpus: 1, log: () => {} });
  try {
    assert.throws(() => local.jobs, NoClusterError);
  } finally {
    await local.shutdown();
  }
});

test("stopping a running job cancels its tasks, kills its actor and frees its objects", { timeout: TEST_MS }, async () => {
  const h = await ray.jobs.submit(APP, { entry: "hold", args: ["s1"] });
  await until(async () => (await h.logs()).filter((l) => /^poll s1-[ab] running$/.test(l.text)).length === 2, 60_000, "both children to run");
  assert.match((await h.logs()).map((l) => l.text).join("\n"), /hold s1: keeper holds 1048576 bytes/);
  assert.equal((await h.status()).state, "running");
  await ray.getActor("keeper-s1");
  const stopped = await job(["stop", h.id]);
  assert.match(stopped.stdout, new RegExp(`job ${h.id}: stopped`));
  const r = await h.status();
  assert.equal(r.state, "stopped");
  assert.equal(r.error?.name, "JobStoppedError");
  // the actor is gone, its tasks no longer run, the 1 MiB object is freed wherever it was
  await until(async () => (await ray.getActor("keeper-s1").then(() => false, (e: unknown) => e instanceof ActorNotFoundError)), 30_000, "the job's actor to die");
  await until(async () => {
    const running = JSON.parse((await cluster.cli(["list", "tasks", "--filter", "name=poll", "--state", "running", "--json"])).stdout) as unknown[];
    return running.length === 0;
  }, 30_000, "the job's polling tasks to end");
  await until(async () => {
    const nodes = JSON.parse((await cluster.cli(["memory", "--json"])).stdout) as { memory?: { objects?: { size: number }[] } }[];
    return !nodes.some((n) => (n.memory?.objects ?? []).some((o) => o.size >= 1 << 20));
  }, 30_000, "the job's 1 MiB object to be freed");
  // stopping an ended job changes nothing
  assert.equal((await h.stop()).state, "stopped");
});

test("tasks a job's entry submitted and did not wait for end when the job does", { timeout: TEST_MS }, async () => {
  const h = await ray.jobs.submit(APP, { entry: "leave", args: ["l1"] });
  assert.equal(await h.result(), "l1");
  const driver = (await h.status()).driver!;
  // the children may have started before the job ended, or be cancelled before they start
  let rows: { state: string }[] = [];
  await until(async () => {
    rows = JSON.parse((await cluster.cli(["list", "tasks", "--filter", "name=poll", "--filter", `job=${driver}`, "--json"])).stdout) as { state: string }[];
    return rows.length === 2 && rows.every((r) => r.state === "failed");
  }, 30_000, "the job's leftover tasks to end").catch((e: Error) => assert.fail(`${e.message}: ${JSON.stringify(rows)}`));
  const lines = (await h.logs()).map((l) => l.text);
  assert.ok(lines.includes("leave l1: children submitted"), JSON.stringify(lines));
});

test("a job that runs past its timeout is stopped, saying so", { timeout: TEST_MS }, async () => {
  const r = await job(["submit", APP, "--entry", "hold", "--timeout-s", "1.5", "--wait", "--", "t1"], 1);
  assert.match(r.stdout, /poll t1-a running/);
  assert.match(r.stderr, /job [0-9a-f]{16} stopped: JobTimeoutError: the job ran past its timeout of 1500 ms/);
  await until(async () => (await ray.getActor("keeper-t1").then(() => false, (e: unknown) => e instanceof ActorNotFoundError)), 30_000, "the job's actor to die");
  const bad = await job(["submit", APP, "--entry", "main", "--timeout-s", "soon"], 2);
  assert.match(bad.stderr, /--timeout-s takes a number of seconds > 0, got 'soon'/);
});

test("job records and logs survive a head restart; a job running when the head died is marked failed", { timeout: TEST_MS }, async () => {
  const finished = await ray.jobs.submit(APP, { entry: "main", args: [4, 5] });
  await finished.wait({ timeoutMs: 60_000 });
  const running = await ray.jobs.submit(APP, { entry: "hold", args: ["r1"] });
  await until(async () => (await running.logs()).some((l) => l.text === "poll r1-a running"), 60_000, "the long job to run").catch(async (e: Error) => {
    // say where it stood: its record, its lines, what the head said last
    const lines = (await running.logs()).map((l) => l.text);
    assert.fail(`${e.message}: ${JSON.stringify(await running.status())}\nits lines: ${JSON.stringify(lines)}\nthe head's last lines:\n${cluster.head.output().split("\n").slice(-30).join("\n")}`);
  });
  // the records are written as the job goes: wait until the logs are (the head is killed, not stopped)
  await new Promise((r) => setTimeout(r, 600));
  const old = cluster.head;
  old.proc.kill("SIGKILL");
  await until(() => old.proc.signalCode !== null, 10_000, "the head to die");
  await cluster.restartHead();
  const rows = JSON.parse((await job(["list", "--json"])).stdout) as JobRecord[];
  const f = rows.find((r) => r.id === finished.id);
  assert.equal(f?.state, "succeeded");
  assert.deepEqual(f?.result, { sum: 9, words: [] });
  const logs = await job(["logs", finished.id]);
  assert.match(logs.stdout, /main started with 4 and 5/);
  const r = rows.find((x) => x.id === running.id);
  assert.equal(r?.state, "failed");
  assert.equal(r?.error?.name, "HeadRestartedError");
  assert.match(r?.error?.message ?? "", /the head stopped while the job was running/);
  assert.match((await job(["logs", running.id])).stdout, /hold r1: keeper holds/);
});

test("ended jobs are kept for the head's --job-retention-s, then dropped", { timeout: TEST_MS }, async () => {
  const h = await ray.jobs.submit(APP, { entry: "main", args: [7, 7] });
  await h.wait({ timeoutMs: 60_000 });
  await job(["status", h.id]);
  const old = cluster.head;
  old.proc.kill("SIGKILL");
  await until(() => old.proc.signalCode !== null, 10_000, "the head to die");
  // a head that keeps ended jobs 0 s drops them when it starts
  await cluster.restartHead(["--job-retention-s", "0"]);
  const gone = await job(["status", h.id], 1);
  assert.match(gone.stderr, /no job '[0-9a-f]{16}'/);
  assert.match((await job(["logs", h.id], 1)).stderr, /no job/);
});

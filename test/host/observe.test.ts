// Observability from an embedded driver: the state API and timeline of
// its own node (no head), ray.progress on a terminal and elsewhere, and
// what taskEvents: false leaves out.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { ProgressStream } from "wray";
import { guest, withRay } from "../helpers.js";
import { tempDir } from "../temp.js";

test("embedded: the state API and timeline see the driver's own tasks and actor calls, with a failure's guest stack", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const errs = await ray.load(guest("errors"));
    const utils = await ray.load(guest("utils"));
    await ray.get(Array.from({ length: 10 }, (_, i) => errs.fn("ok").remote(i)));
    const bad = errs.fn("fail").remote("embedded failure");
    await assert.rejects(ray.get(bad));
    const w = utils.actor("Worker").remote();
    await ray.get(w.double!.remote(2));
    const failed = await ray.state.listTasks({ state: "failed" });
    assert.deepEqual(failed.map((t) => [t.name, t.taskId]), [["fail", bad.hex.slice(0, 32)]]);
    assert.match(failed[0]!.error!.stack ?? "", /index\.ts:\d+/);
    assert.equal((await ray.state.getTask(bad.hex.slice(0, 12)))!.error!.message, "embedded failure");
    const summary = await ray.state.summarizeTasks();
    assert.equal(summary.find((r) => r.name === "ok")!.states.finished, 10);
    assert.equal((await ray.state.listTasks({ name: "Worker.double" })).length, 1);
    assert.deepEqual((await ray.state.listActors()).map((a) => [a.className, a.state]), [["Worker", "alive"]]);
    const dir = await tempDir();
    try {
      const events = await ray.timeline(join(dir.path, "t.json"));
      assert.equal(events.filter((e) => e.name === "ok").length, 10);
      const file = JSON.parse(readFileSync(join(dir.path, "t.json"), "utf8")) as { traceEvents: unknown[] };
      assert.equal(file.traceEvents.length, events.length);
    } finally {
      await dir.remove();
    }
    await assert.rejects(ray.state.getTask("xyz"), TypeError);
    await assert.rejects(ray.state.listTasks({}, { limit: 0 }), RangeError);
  });
});

test("taskEvents: false records nothing: the state API and timeline are empty", async () => {
  await withRay({ numCpus: 1, taskEvents: false }, async (ray) => {
    const errs = await ray.load(guest("errors"));
    await ray.get(errs.fn("ok").remote(1));
    assert.deepEqual(await ray.state.listTasks(), []);
    assert.deepEqual(await ray.timeline(), []);
  });
});

test("embedded: a short task's state history has its submit time; a driver shut down right after a burst exits, and its state API then refuses", () => {
  // 40,000 finishes fill half the event buffer: a drain is scheduled, and runs after shutdown began (it must not start the table's thread again)
  const script = `
    import { init } from "wray";
    const ray = await init({ numCpus: 1, log: () => {} });
    const ok = (await ray.load(${JSON.stringify(guest("errors"))})).fn("ok");
    const first = ok.remote(0);
    await ray.get(first);
    const t = await ray.state.getTask(first.hex.slice(0, 32));
    if (!(t.times.submitted <= t.times.scheduled && t.times.scheduled <= t.times.running && t.times.running <= t.times.finished)) throw new Error("history out of order: " + JSON.stringify(t.times));
    await ray.get(Array.from({ length: 40000 }, (_, i) => ok.remote(i)));
    // a query asked just before shutdown ends with it, one asked after is refused
    const asked = ray.state.summarizeTasks().then(() => "answered", (e) => e.code);
    const closing = ray.shutdown();
    const refused = await ray.state.listTasks().then(() => "answered", (e) => e.code);
    if (!["answered", "WRAY_SHUTDOWN"].includes(await asked)) throw new Error("a query asked before shutdown ended with " + (await asked));
    await closing;
    console.log("done " + refused);
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: fileURLToPath(new URL("../..", import.meta.url)), encoding: "utf8", timeout: 120_000 });
  assert.equal(r.error, undefined, `the driver did not exit within 120 s (${String(r.error)}); it printed ${r.stdout}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "done WRAY_SHUTDOWN");
});

test("ray.progress yields every ref once as it completes: a bar on a terminal, plain lines elsewhere", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const utils = await ray.load(guest("utils"));
    const w = utils.actor("Worker").remote();
    const refs = Array.from({ length: 20 }, (_, i) => w.double!.remote(i, i === 0 ? 300 : 0));
    const plain: string[] = [];
    const stream: ProgressStream = { write: (s: string) => plain.push(s), isTTY: false };
    const seen = [];
    for await (const r of ray.progress(refs, { label: "doubling", stream })) seen.push(r);
    assert.equal(seen.length, 20);
    assert.equal(new Set(seen).size, 20);
    assert.ok(plain.every((l) => l.endsWith("\n") && !l.includes("\r")), "plain lines when not a terminal");
    assert.match(plain[plain.length - 1]!, /^doubling: 20\/20 done \(100%\)/);
    const tty: string[] = [];
    const term: ProgressStream = { write: (s: string) => tty.push(s), isTTY: true, columns: 80 };
    for await (const _ of ray.progress(refs.slice(0, 5), { label: "again", stream: term })) void _;
    assert.ok(tty.every((l) => l.startsWith("\r")), "a bar redrawn in place on a terminal");
    assert.match(tty[tty.length - 1]!, /again \[#+\] 5\/5 100%/);
    assert.ok(tty[tty.length - 1]!.endsWith("\n"));
    await assert.rejects(async () => {
      for await (const _ of ray.progress("nope" as never)) void _;
    }, TypeError);
  });
});

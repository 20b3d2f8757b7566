// Observability from an embedded driver: the state API and timeline of
// its own node (no head), ray.progress on a terminal and elsewhere, and
// what taskEvents: false leaves out.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
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

import assert from "node:assert/strict";
import { test } from "node:test";
import { MIN_SUCCESS, PROBE_EVERY, Spinner } from "../../../host/isolate/spin.js";

function shared(cores: number) {
  return { bell: new Int32Array(new SharedArrayBuffer(16)), awakeIdx: 0, cores };
}

test("a thread spins only while at most cores + 1 of the host's threads are awake", () => {
  const s = shared(2);
  const spinner = new Spinner(s, 0.05);
  Atomics.store(s.bell, 0, 3);
  assert.equal(spinner.allowed(), true, "the host thread and a core's worth of isolates");
  Atomics.store(s.bell, 0, 4);
  assert.equal(spinner.allowed(), false, "more: a spinner would take a core from a thread that works");
  let calls = 0;
  assert.equal(spinner.spin(() => ++calls > 1000), false, "it sleeps at once");
  assert.equal(calls, 1, "after one look");
});

test("a thread whose spins rarely pay stops spinning, probes, and spins again once they pay", () => {
  const s = shared(2);
  const spinner = new Spinner(s, 0.02);
  let spun = 0;
  for (let i = 0; i < 40; i++) if (spinner.allowed()) spinner.record(false), spun++;
  assert.ok(spinner.success < MIN_SUCCESS, `success ${spinner.success}`);
  assert.ok(spun < 40, "it stopped spinning");
  let probes = 0;
  for (let i = 0; i < PROBE_EVERY * 4; i++) if (spinner.allowed()) probes++;
  assert.equal(probes, 4, "one wait in PROBE_EVERY still spins");
  for (let i = 0; i < 3; i++) spinner.record(true);
  assert.ok(spinner.success >= MIN_SUCCESS && spinner.allowed(), "spins that pay bring spinning back");
});

test("spin() returns as soon as the condition holds, and records it", () => {
  const spinner = new Spinner(shared(2), 50);
  let n = 0;
  assert.equal(spinner.spin(() => ++n === 100), true);
  assert.equal(n, 100);
  assert.equal(new Spinner(shared(2), 0).spin(() => false), false, "a limit of 0 never spins");
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

test("the parameter-server example runs and prints its comparison", { timeout: 180_000 }, async () => {
  const { stdout } = await run(process.execPath, ["examples/parameter-server/main.mjs"], { cwd: root, timeout: 170_000 });
  assert.match(stdout, /the actor saw 200 updates/);
  assert.match(stdout, /\| wray: 2 worker tasks \+ parameter-server actor .* \| 200 \| \d+ \| \d+ \|/);
  assert.match(stdout, /\| one thread of plain JavaScript .* \| 200 \|/);
  const rms = Number(/RMS error to w\* = ([0-9.]+)/.exec(stdout)?.[1]);
  assert.ok(rms < 0.5, `training made progress (RMS ${rms})`);
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BuildError, buildGuest, init } from "wray";
import { tempDir } from "../temp.js";

const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const run = promisify(execFile);

test("wray build turns a TypeScript module into a component that runs", { timeout: 60_000 }, async () => {
  const dir = await tempDir();
  try {
    const src = join(dir.path, "tasks.ts");
    await writeFile(src, `export function twice(x: number): number { return 2 * x; }\nexport const notATask = 3;\n`);
    const { stdout } = await run(process.execPath, [cli, "build", src, "-o", join(dir.path, "out", "t.wasm")]);
    assert.match(stdout, /built .*t\.wasm .*exports: notATask, twice/);
    const ray = await init({ numCpus: 1 });
    try {
      const mod = await ray.load(join(dir.path, "out", "t.wasm"));
      assert.deepEqual(mod.tasks, ["twice"]);
      assert.equal(await ray.get(mod.fn("twice").remote(21)), 42);
    } finally {
      await ray.shutdown();
    }
  } finally {
    await dir.remove();
  }
});

test("wray build reports bad input clearly", { timeout: 60_000 }, async () => {
  const dir = await tempDir();
  try {
    await assert.rejects(buildGuest(join(dir.path, "missing.ts")), (e: unknown) => {
      assert.ok(e instanceof BuildError);
      assert.equal(e.code, "WRAY_BUILD_FAILED");
      assert.match(e.message, /no such file/);
      return true;
    });

    const broken = join(dir.path, "broken.ts");
    await writeFile(broken, "export function f( { return 1 }\n");
    await assert.rejects(buildGuest(broken), (e: unknown) => {
      assert.ok(e instanceof BuildError);
      assert.match(e.message, /does not compile/);
      assert.ok(e.diagnostics.some((d) => /broken\.ts:1:\d+/.test(d)), e.diagnostics.join("\n"));
      return true;
    });

    const empty = join(dir.path, "empty.ts");
    await writeFile(empty, "const x = 1;\n");
    await assert.rejects(buildGuest(empty), /exports nothing/);

    const throws = join(dir.path, "throws.ts");
    await writeFile(throws, "throw new Error('top level');\nexport function f() { return 1; }\n");
    await assert.rejects(buildGuest(throws), /could not be compiled to a component/);

    const missingImport = join(dir.path, "imp.ts");
    await writeFile(missingImport, "import { x } from './nope.js';\nexport function f() { return x; }\n");
    await assert.rejects(buildGuest(missingImport), /does not compile/);

    // the CLI exits non-zero with the message
    await assert.rejects(run(process.execPath, [cli, "build", broken]), (e: unknown) => {
      const err = e as { code: number; stderr: string };
      assert.equal(err.code, 1);
      assert.match(err.stderr, /wray build: .*does not compile/);
      return true;
    });
    await assert.rejects(run(process.execPath, [cli, "frobnicate"]), (e: unknown) => (e as { code: number }).code === 2);
    assert.ok(!existsSync(join(dir.path, "broken.wasm")));
  } finally {
    await dir.remove();
  }
});

import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ComponentInvalidError, ComponentNotFoundError, UnknownFunctionError, WorldMismatchError } from "wray";
import { guest, withRay } from "../helpers.js";
import { tempDir } from "../temp.js";

test("load rejects bad input with typed errors", async () => {
  await withRay({ numCpus: 1 }, async (ray) => {
    const dir = await tempDir();
    try {
      await assert.rejects(ray.load(join(dir.path, "missing.wasm")), (e: unknown) => {
        assert.ok(e instanceof ComponentNotFoundError);
        assert.equal(e.code, "WRAY_COMPONENT_NOT_FOUND");
        return true;
      });
      await assert.rejects(ray.load(dir.path), ComponentNotFoundError);

      const text = join(dir.path, "notes.wasm");
      await writeFile(text, "not wasm at all");
      await assert.rejects(ray.load(text), (e: unknown) => e instanceof ComponentInvalidError && /not a WebAssembly component/.test(e.message));

      // a core module, not a component
      const core = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
      await assert.rejects(ray.load(core), (e: unknown) => e instanceof ComponentInvalidError && /core WebAssembly module/.test(e.message));

      // a truncated component
      const bytes = await readFile(guest("basic"));
      await assert.rejects(ray.load(bytes.subarray(0, 4096)), ComponentInvalidError);

      // a component of another world
      await assert.rejects(ray.load(guest("wrongworld")), (e: unknown) => {
        assert.ok(e instanceof WorldMismatchError);
        assert.equal(e.code, "WRAY_WORLD_MISMATCH");
        assert.match(e.message, /does not export wray:runtime\/guest@0\.1\.0/);
        return true;
      });

      // a component that imports what the host does not grant
      await assert.rejects(ray.load(guest("wasi")), (e: unknown) => {
        assert.ok(e instanceof WorldMismatchError);
        assert.match(e.message, /imports wasi:/);
        return true;
      });

      await assert.rejects(ray.load(42 as unknown as string), TypeError);
    } finally {
      await dir.remove();
    }
  });
});

test("a loaded component lists its tasks, and unknown names are refused at once", async () => {
  await withRay({ numCpus: 1 }, async (ray) => {
    const mod = await ray.load(guest("basic"));
    assert.ok(mod.tasks.includes("add") && mod.tasks.includes("echo"));
    assert.deepEqual(mod.actors, {});
    assert.throws(() => mod.fn("nope"), (e: unknown) => {
      assert.ok(e instanceof UnknownFunctionError);
      assert.equal(e.code, "WRAY_UNKNOWN_FUNCTION");
      assert.match(e.message, /exports no task named 'nope' \(it has: .*add/);
      return true;
    });
    // loading the same bytes twice shares one component
    const again = await ray.load(await readFile(guest("basic")));
    assert.deepEqual(again.tasks, mod.tasks);
  });
});

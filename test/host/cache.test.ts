/**
 * The glue cache: jco's generated JavaScript, which the host runs outside
 * the sandbox. Code planted in it must never run: the folder must be this
 * user's alone, and each entry is checked against its component before it
 * is used.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { prepareComponent } from "wray/host";
import { guest } from "../helpers.js";
import { tempDir } from "../temp.js";

let dir: Awaited<ReturnType<typeof tempDir>>;
const bytes = readFileSync(guest("basic"));
const hash = createHash("sha256").update(bytes).digest("hex");
const warnings: string[] = [];
const onWarning = (w: Error & { code?: string }) => {
  if (w.code === "WRAY_CACHE_REFUSED") warnings.push(w.message);
};
/** Planted glue marks this process when it runs. */
const PLANT = "globalThis.__wrayPlanted = (globalThis.__wrayPlanted ?? 0) + 1;\nexport function instantiate() { throw new Error('planted'); }\n";
const planted = () => (globalThis as { __wrayPlanted?: number }).__wrayPlanted ?? 0;

before(async () => {
  dir = await tempDir();
  process.on("warning", onWarning);
});

after(async () => {
  process.off("warning", onWarning);
  delete process.env.WRAY_CACHE_DIR;
  await dir?.remove();
});

async function prepareIn(root: string) {
  process.env.WRAY_CACHE_DIR = root;
  return prepareComponent(bytes, "basic.wasm");
}

test("the cache is made private (0700), and each entry names its component, its tool and its files' hashes", async () => {
  const root = join(dir.path, "fresh", "wray");
  const p = await prepareIn(root);
  assert.equal(p.hash, hash);
  assert.equal(statSync(root).mode & 0o777, 0o700);
  const meta = JSON.parse(readFileSync(join(root, hash, "meta.json"), "utf8")) as { component: string; jco: string; files: Record<string, string> };
  assert.equal(meta.component, hash);
  assert.match(meta.jco, /^\d+\.\d+\.\d+/);
  assert.equal(meta.files["component.js"], createHash("sha256").update(readFileSync(join(root, hash, "component.js"))).digest("hex"));
  assert.deepEqual(warnings, []);
});

test("planted glue in an entry is never run: a file that fails its hash, or an entry without the binding, is made again", async () => {
  const root = join(dir.path, "fresh", "wray");
  const entry = join(root, hash);
  // an attacker's code in place of the glue, meta.json untouched
  writeFileSync(join(entry, "component.js"), PLANT);
  await prepareIn(root);
  assert.equal(planted(), 0, "the planted glue ran");
  assert.doesNotMatch(readFileSync(join(entry, "component.js"), "utf8"), /wrayPlanted/, "the entry was made again");
  // an entry in the old form (no binding), as the shared temp cache held them
  writeFileSync(join(entry, "component.js"), PLANT);
  writeFileSync(join(entry, "meta.json"), JSON.stringify({ imports: [], exports: ["wray:runtime/guest@0.1.0"] }));
  await prepareIn(root);
  assert.equal(planted(), 0, "the planted glue ran");
  // another component's entry moved under this hash
  const meta = JSON.parse(readFileSync(join(entry, "meta.json"), "utf8")) as { component: string };
  writeFileSync(join(entry, "meta.json"), JSON.stringify({ ...meta, component: "0".repeat(64) }));
  await prepareIn(root);
  assert.equal((JSON.parse(readFileSync(join(entry, "meta.json"), "utf8")) as { component: string }).component, hash);
});

test("a cache folder another user could write is refused with a warning, and nothing in it is read or written", async () => {
  const cases: [string, () => string, RegExp][] = [
    [
      "world-writable",
      () => {
        const d = join(dir.path, "open");
        mkdirSync(d);
        chmodSync(d, 0o777);
        return d;
      },
      /writable by every user \(mode 777\)/,
    ],
    [
      "owned by another user",
      () => {
        const d = join(dir.path, "theirs");
        mkdirSync(d, { mode: 0o700 });
        chownSync(d, 65534, 65534);
        return d;
      },
      /owned by uid 65534, not by this user/,
    ],
    [
      "a symbolic link",
      () => {
        const target = join(dir.path, "elsewhere");
        mkdirSync(target, { mode: 0o700 });
        const d = join(dir.path, "link");
        symlinkSync(target, d);
        return d;
      },
      /is a symbolic link/,
    ],
  ];
  for (const [name, make, why] of cases) {
    const root = make();
    // the attacker's entry, complete with a matching binding
    mkdirSync(join(root, hash), { recursive: true });
    writeFileSync(join(root, hash, "component.js"), PLANT);
    writeFileSync(join(root, hash, "meta.json"), JSON.stringify({ component: hash, jco: "x", imports: [], exports: [], files: { "component.js": createHash("sha256").update(PLANT).digest("hex") } }));
    warnings.length = 0;
    const p = await prepareIn(root);
    assert.equal(p.hash, hash, name);
    assert.equal(planted(), 0, `${name}: the planted glue ran`);
    assert.equal(warnings.length, 1, `${name}: one warning`);
    assert.match(warnings[0]!, why, name);
    assert.match(warnings[0]!, /not using the component cache/, name);
    assert.deepEqual(readdirSync(root), [hash], `${name}: nothing written there`);
  }
  assert.ok(existsSync(join(dir.path, "fresh")));
});

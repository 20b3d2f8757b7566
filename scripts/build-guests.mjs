#!/usr/bin/env node
// Builds the guest fixtures the tests use (test/guests/<behaviour>/) into
// <behaviour>.wasm beside their source. A guest is rebuilt only when its
// source, the guest SDK or the WIT changed (a hash is kept in .build-hash).
// Run after `npm run build`: it uses the built `wray build` pipeline.
//
// wray's own guests in builtins/ (the Queue actor, in C) are built the same
// way into builtins/<name>.wasm, which the package ships.
//
// Compiled guests (index.c, lib.rs, and index.ts importing "wray/as") are
// checked in prebuilt, so tests run without their toolchains. Where the
// toolchain is present (clang with wasi-libc; rustc with the wasm32 target;
// the assemblyscript package) the script
// rebuilds them when their inputs changed and compares: a fixture that is
// not current is rewritten, and under CI=true that is an error (commit the
// rebuilt fixture).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { componentize } from "componentize-qjs";
import {
  asToolchainAvailable,
  buildAsGuest,
  buildCGuest,
  buildGuest,
  buildRustGuest,
  cToolchainAvailable,
  guestLanguage,
  rustToolchainAvailable,
  witDir,
} from "../dist/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const guests = join(root, "test", "guests");

function hashFiles(paths) {
  const h = createHash("sha256");
  for (const p of paths) {
    if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) h.update(f), h.update(readFileSync(join(p, f)));
    else h.update(readFileSync(p));
  }
  return h.digest("hex");
}

/** Whether `out` was built from inputs whose hash its stamp file holds. */
function upToDate(out, stamp, hash) {
  return existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === hash;
}

// the build code compiled guests go through (their SDKs are hashed per language)
const COMPILED_BUILDERS = ["guest-sdk/build-native.ts", "guest-sdk/build-as.ts", "common/wasm-binary.ts"].map((f) => join(root, f));

// special guests: built straight with componentize-qjs, not through `wray build`
const special = {
  wrongworld: { wit: join(guests, "wrongworld", "wit"), world: "greeter", stubWasi: true },
  wasi: { wit: join(root, "wit"), world: "runtime", stubWasi: false },
};

let built = 0;
let stale = 0;
const t0 = performance.now();
const toolchains = { c: cToolchainAvailable(), rust: rustToolchainAvailable(), as: await asToolchainAvailable() };
const compiled = {
  c: { entry: "index.c", sdk: join(root, "guest-sdk", "c"), build: (src, out) => buildCGuest([src], witDir(), { output: out }), toolchain: "clang with wasi-libc" },
  rust: { entry: "lib.rs", sdk: join(root, "guest-sdk", "rust"), build: (src, out) => buildRustGuest(src, witDir(), { output: out }), toolchain: "rustc with the wasm32-unknown-unknown target" },
  as: { entry: "index.ts", sdk: join(root, "guest-sdk", "as"), build: (src, out) => buildAsGuest(src, witDir(), { output: out }), toolchain: "the assemblyscript package" },
};
/**
 * A compiled guest checked in built (`label` names `out`): used as it is
 * without its toolchain; with it, rebuilt when its inputs changed, and
 * counted stale (an error under CI) when the checked-in build differs.
 */
async function checkedIn(lang, src, out, stamp, label) {
  const c = compiled[lang];
  if (!toolchains[lang]) {
    if (!existsSync(out)) throw new Error(`${label} is missing and ${c.toolchain} is not installed to build it`);
    return;
  }
  const hash = hashFiles([src, c.sdk, join(root, "wit"), ...COMPILED_BUILDERS]);
  if (upToDate(out, stamp, hash)) return;
  const tmp = join(dirname(out), `.${basename(out, ".wasm")}.new.wasm`);
  await c.build(src, tmp);
  const fresh = readFileSync(tmp);
  rmSync(tmp);
  writeFileSync(stamp, hash);
  if (existsSync(out) && Buffer.compare(readFileSync(out), fresh) === 0) return;
  writeFileSync(out, fresh);
  stale++;
  process.stdout.write(`rebuilt ${label}: the checked-in build was not current (commit it)\n`);
}

for (const name of readdirSync(guests).sort()) {
  const dir = join(guests, name);
  if (!statSync(dir).isDirectory()) continue;
  const lang = Object.keys(compiled).find((l) => existsSync(join(dir, compiled[l].entry)) && guestLanguage(join(dir, compiled[l].entry)) === l);
  if (lang) {
    await checkedIn(lang, join(dir, compiled[lang].entry), join(dir, `${name}.wasm`), join(dir, ".build-hash"), `test/guests/${name}/${name}.wasm`);
    continue;
  }
  const entry = ["index.ts", "index.js"].map((f) => join(dir, f)).find(existsSync);
  if (!entry) continue;
  const out = join(dir, `${name}.wasm`);
  const stamp = join(dir, ".build-hash");
  const inputs = [entry, join(root, "wit"), join(root, "dist", "guest.js"), join(root, "guest-sdk", "build.ts")];
  if (special[name]) inputs.push(special[name].wit);
  const hash = hashFiles(inputs);
  if (upToDate(out, stamp, hash)) continue;
  if (special[name]) {
    const s = special[name];
    let js = readFileSync(entry, "utf8");
    if (name === "wasi") {
      // a minimal guest export so the component is of the runtime world apart from its WASI imports
      js = `export const guest = { describe() { return new Uint8Array([0x82, 0xa5, 0x74, 0x61, 0x73, 0x6b, 0x73, 0x90, 0xa6, 0x61, 0x63, 0x74, 0x6f, 0x72, 0x73, 0x80]); }, invoke() { return new Uint8Array([0x90]); }, construct() { return new Uint8Array([0x90]); }, call() { return new Uint8Array([0x90]); } };\n`;
    }
    const { component } = await componentize({ witPath: s.wit, world: s.world, jsSource: js, jsPath: entry, stubWasi: s.stubWasi, sync: true });
    writeFileSync(out, component);
  } else {
    await buildGuest(entry, { output: out });
  }
  writeFileSync(stamp, hash);
  built++;
  process.stdout.write(`built test/guests/${name}/${name}.wasm\n`);
}
// wray's own guests (builtins/: the Queue actor), checked in built like the compiled fixtures
const builtins = join(root, "builtins");
for (const file of readdirSync(builtins).filter((f) => f.endsWith(".c")).sort()) {
  const name = file.slice(0, -2);
  await checkedIn("c", join(builtins, file), join(builtins, `${name}.wasm`), join(builtins, `.${name}.build-hash`), `builtins/${name}.wasm`);
}
const missing = Object.keys(toolchains).filter((l) => !toolchains[l]).map((l) => `${l}: no ${compiled[l].toolchain}`);
process.stdout.write(`guests: ${built} built in ${(performance.now() - t0).toFixed(0)} ms, the rest up to date${missing.length ? ` (compiled fixtures used as checked in — ${missing.join("; ")})` : ""}\n`);
if (stale > 0 && process.env.CI === "true") {
  process.stderr.write(`${stale} checked-in compiled guest fixture(s) were not current with their sources\n`);
  process.exit(1);
}

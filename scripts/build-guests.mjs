#!/usr/bin/env node
// Builds the guest fixtures the tests use (test/guests/<behaviour>/) into
// <behaviour>.wasm beside their source. A guest is rebuilt only when its
// source, the guest SDK or the WIT changed (a hash is kept in .build-hash).
// Run after `npm run build`: it uses the built `wray build` pipeline.
//
// Compiled guests (index.c) are checked in prebuilt, so tests run without
// their toolchains. Where clang and wasi-libc are present the script
// rebuilds them and compares: a fixture that is not current is rewritten,
// and under CI=true that is an error (commit the rebuilt fixture).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { componentize } from "componentize-qjs";
import { buildCGuest, buildGuest, cToolchainAvailable, witDir } from "../dist/index.js";

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

// special guests: built straight with componentize-qjs, not through `wray build`
const special = {
  wrongworld: { wit: join(guests, "wrongworld", "wit"), world: "greeter", stubWasi: true },
  wasi: { wit: join(root, "wit"), world: "runtime", stubWasi: false },
};

let built = 0;
let stale = 0;
const t0 = performance.now();
const clang = cToolchainAvailable();
for (const name of readdirSync(guests).sort()) {
  const dir = join(guests, name);
  if (!statSync(dir).isDirectory()) continue;
  const cEntry = join(dir, "index.c");
  if (existsSync(cEntry)) {
    const out = join(dir, `${name}.wasm`);
    if (!clang) {
      if (!existsSync(out)) throw new Error(`test/guests/${name}/${name}.wasm is missing and clang with wasi-libc is not installed to build it`);
      continue;
    }
    const tmp = join(dir, `.${name}.new.wasm`);
    await buildCGuest([cEntry], witDir(), { output: tmp });
    const fresh = readFileSync(tmp);
    rmSync(tmp);
    if (existsSync(out) && Buffer.compare(readFileSync(out), fresh) === 0) continue;
    writeFileSync(out, fresh);
    stale++;
    process.stdout.write(`rebuilt test/guests/${name}/${name}.wasm: the checked-in fixture was not current (commit it)\n`);
    continue;
  }
  const entry = ["index.ts", "index.js"].map((f) => join(dir, f)).find(existsSync);
  if (!entry) continue;
  const out = join(dir, `${name}.wasm`);
  const stamp = join(dir, ".build-hash");
  const inputs = [entry, join(root, "wit"), join(root, "dist", "guest.js"), join(root, "guest-sdk", "build.ts")];
  if (special[name]) inputs.push(special[name].wit);
  const hash = hashFiles(inputs);
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === hash) continue;
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
process.stdout.write(`guests: ${built} built in ${(performance.now() - t0).toFixed(0)} ms, the rest up to date${clang ? "" : " (C fixtures used as checked in: no clang for wasm32-wasi here)"}\n`);
if (stale > 0 && process.env.CI === "true") {
  process.stderr.write(`${stale} checked-in compiled guest fixture(s) were not current with their sources\n`);
  process.exit(1);
}

/**
 * `wray build` for compiled guests. A C guest is compiled by clang's wasm32
 * target against wasi-libc into a core module that implements the
 * `wray:runtime` world's canonical ABI itself (guest-sdk/c/wray.h); a Rust
 * guest by rustc for wasm32-unknown-unknown against the SDK crate
 * (guest-sdk/rust/wray.rs, no dependencies). The core module is then
 * wrapped as a component: the WIT is embedded as the `component-type`
 * custom section and `wasm-tools component new` (through jco's
 * programmatic API: its CLI cannot read files) lifts it.
 *
 * Toolchains (Debian): `clang lld wasi-libc libclang-rt-dev-wasm32` and
 * `rustc libstd-rust-dev-wasm32`, which scripts/setup-toolchains.sh installs.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BuildError } from "./errors.js";

/** What a build wrote. */
export interface BuildResult {
  output: string;
  bytes: number;
  /** The module's exports, as esbuild saw them. */
  exports: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
const HOST_MODULE = "wray:runtime/host@0.1.0";

/** The folder holding wray.h (guest-sdk/c in the repository and in the package). */
export function cSdkDir(): string {
  for (const d of [resolve(here, "c"), resolve(here, "..", "guest-sdk", "c")]) if (existsSync(join(d, "wray.h"))) return d;
  throw new BuildError("cannot find the C guest SDK (guest-sdk/c/wray.h) beside this package");
}

/** The folder holding the Rust SDK crate (guest-sdk/rust/wray.rs). */
export function rustSdkDir(): string {
  for (const d of [resolve(here, "rust"), resolve(here, "..", "guest-sdk", "rust")]) if (existsSync(join(d, "wray.rs"))) return d;
  throw new BuildError("cannot find the Rust guest SDK (guest-sdk/rust/wray.rs) beside this package");
}

const RUST_TARGET = "wasm32-unknown-unknown";

/**
 * A rustc that can build for wasm32-unknown-unknown: `$RUSTC`, the one on
 * PATH, or Debian's /usr/bin/rustc (rustup's toolchains on PATH often lack
 * the target while Debian's libstd-rust-dev-wasm32 provides it); undefined
 * when none can.
 */
export function findRustc(): string | undefined {
  for (const rustc of [process.env.RUSTC, "rustc", "/usr/bin/rustc"]) {
    if (!rustc) continue;
    const r = spawnSync(rustc, ["--print", "sysroot"], { encoding: "utf8" });
    if (r.status === 0 && existsSync(join(r.stdout.trim(), "lib", "rustlib", RUST_TARGET, "lib"))) return rustc;
  }
  return undefined;
}

/** Whether Rust guests can be built here. */
export function rustToolchainAvailable(): boolean {
  return findRustc() !== undefined;
}

/** Whether C guests can be built here: clang runs and wasi-libc is installed where Debian puts it. */
export function cToolchainAvailable(cc = "clang"): boolean {
  return existsSync("/usr/lib/wasm32-wasi/libc.a") && spawnSync(cc, ["--version"], { stdio: "ignore" }).status === 0;
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) fail(Object.assign(err, { stdout, stderr }));
      else ok({ stdout, stderr });
    });
  });
}

/** Wraps a core module that implements the world's canonical ABI as a component of `wray:runtime`. */
export async function componentFromCore(core: Uint8Array, witDir: string, options: { hint?: string } = {}): Promise<Uint8Array> {
  let imports: WebAssembly.ModuleImportDescriptor[];
  try {
    imports = WebAssembly.Module.imports(await WebAssembly.compile(core));
  } catch (e) {
    throw new BuildError(`the compiler's output is not a valid WebAssembly module: ${e instanceof Error ? e.message : String(e)}`);
  }
  const foreign = imports.filter((i) => i.module !== HOST_MODULE).map((i) => `${i.module}.${i.name}`);
  if (foreign.length > 0) {
    throw new BuildError(
      `the guest imports ${foreign.join(", ")}, which wray does not provide: guests may import only ${HOST_MODULE} ` +
        `(${options.hint ?? "system calls such as printf, files and clocks need WASI: use wray_log and wray_now instead"})`,
    );
  }
  const { componentEmbed, componentNew } = await import("@bytecodealliance/jco");
  const witSource = await readFile(join(witDir, "runtime.wit"), "utf8");
  try {
    const embedded = await componentEmbed({ binary: core, witSource, world: "runtime", stringEncoding: "utf8" });
    return await componentNew(embedded, []);
  } catch (e) {
    throw new BuildError(`the core module is not a component of wray:runtime/runtime: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Writes a built component to `output` (making its folder). */
export async function writeComponent(output: string, component: Uint8Array, exports: string[] = []): Promise<BuildResult> {
  await mkdir(dirname(output), { recursive: true });
  await writeFile(output, component);
  return { output, bytes: component.length, exports };
}

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
async function inTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface NativeBuildOptions {
  output?: string;
  /** The C compiler (default `$CC` when it names clang, else `clang`). */
  cc?: string;
  /** Extra compiler flags (e.g. `-O3`, `-I include`). */
  cflags?: string[];
}

/** Builds a C guest (one or more .c files; the first names the output). */
export async function buildCGuest(sources: string[], witDir: string, options: NativeBuildOptions = {}): Promise<BuildResult> {
  if (sources.length === 0) throw new BuildError("no C source files given");
  const files = sources.map((s) => resolve(s));
  for (const [i, f] of files.entries()) {
    if (!existsSync(f) || !statSync(f).isFile()) throw new BuildError(`no such file: ${sources[i]}`);
  }
  const output = resolve(options.output ?? files[0]!.replace(/\.c$/, "") + ".wasm");
  const cc = options.cc ?? (process.env.CC && /clang/.test(process.env.CC) ? process.env.CC : "clang");
  const core = await inTempDir("wray-cbuild-", async (tmp) => {
    const core = join(tmp, "core.wasm");
    try {
      // compile and link apart: clang's driver runs `wasm-opt` after an
      // optimizing link whenever one is on PATH (node_modules/.bin under
      // npm), which would make the output depend on who ran the build
      const objects: string[] = [];
      for (const [i, f] of files.entries()) {
        const o = join(tmp, `${i}.o`);
        await run(cc, ["--target=wasm32-wasi", "-O2", "-I", cSdkDir(), ...(options.cflags ?? []), "-c", "-o", o, f]);
        objects.push(o);
      }
      await run(cc, ["--target=wasm32-wasi", "-nostartfiles", "-Wl,--no-entry", "-Wl,--strip-all", "-o", core, ...objects, "-lm"]);
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string };
      if (err.code === "ENOENT") {
        throw new BuildError(`${cc} not found: C guests need clang, lld and wasi-libc (Debian: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32)`);
      }
      const text = (err.stderr ?? "").trim();
      if (/unable to find library -lc|crt1\.o|'(stdlib|string|stdint)\.h' file not found/.test(text)) {
        throw new BuildError(`${cc} cannot build for wasm32-wasi (is wasi-libc installed?):\n${text}`);
      }
      throw new BuildError(`${sources.join(" ")} does not compile:\n${text}`);
    }
    return readFile(core);
  });
  return writeComponent(output, await componentFromCore(core, witDir));
}

/** rustc's errors as `file:line:column: message` lines. */
function rustDiagnostics(text: string): string[] {
  const out: string[] = [];
  const re = /^(error(?:\[E\d+\])?): ([^\n]*)\n\s*--> ([^\n]+?):(\d+):(\d+)/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(`${m[3]}:${m[4]}:${m[5]}: ${m[1]}: ${m[2]}`);
  return out;
}

/**
 * Builds a Rust guest: `entry` is the crate root (lib.rs) of a crate that
 * uses `wray` (the SDK crate, compiled alongside) and declares its tasks
 * and actors with `wray::guest!`. No Cargo and no crates.io: dependencies
 * other than std are not available to guests built this way.
 */
export async function buildRustGuest(entry: string, witDir: string, options: NativeBuildOptions & { rustc?: string; rustflags?: string[] } = {}): Promise<BuildResult> {
  const file = resolve(entry);
  if (!existsSync(file) || !statSync(file).isFile()) throw new BuildError(`no such file: ${entry}`);
  const output = resolve(options.output ?? file.replace(/\.rs$/, "") + ".wasm");
  const rustc = options.rustc ?? findRustc();
  if (!rustc) {
    throw new BuildError(
      `no rustc that can build for ${RUST_TARGET}: Rust guests need it (Debian: apt-get install rustc libstd-rust-dev-wasm32; rustup: rustup target add ${RUST_TARGET})`,
    );
  }
  const sdk = rustSdkDir();
  // source paths end up in panic locations: make them relative, so the output does not depend on where the build ran
  const remap = ["--remap-path-prefix", `${dirname(file)}=.`, "--remap-path-prefix", `${sdk}=wray`];
  const common = ["--edition", "2021", "--target", RUST_TARGET, "-C", "opt-level=3", "-C", "panic=abort", "-C", "strip=symbols", ...remap, ...(options.rustflags ?? [])];
  const core = await inTempDir("wray-rsbuild-", async (tmp) => {
    const lib = join(tmp, "libwray.rlib");
    const core = join(tmp, "core.wasm");
    try {
      await run(rustc, [...common, "--crate-type", "rlib", "--crate-name", "wray", "-o", lib, join(sdk, "wray.rs")]);
    } catch (e) {
      throw new BuildError(`the Rust guest SDK does not compile with ${rustc}:\n${((e as { stderr?: string }).stderr ?? String(e)).trim()}`);
    }
    try {
      await run(rustc, [...common, "--crate-type", "cdylib", "--crate-name", "guest", "--extern", `wray=${lib}`, "-o", core, file]);
    } catch (e) {
      const text = ((e as { stderr?: string }).stderr ?? String(e)).trim();
      const diags = rustDiagnostics(text);
      throw new BuildError(`${entry} does not compile`, diags.length > 0 ? diags : [text]);
    }
    return readFile(core);
  });
  const component = await componentFromCore(core, witDir, {
    hint: "std's files, clocks and threads are not available to guests: use wray::log and wray::now",
  });
  return writeComponent(output, component);
}

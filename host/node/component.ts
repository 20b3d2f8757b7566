/**
 * Turning component bytes into something isolates can run: check that it
 * is a component of the `wray:runtime` world, generate jco's instantiation
 * glue for it, compile its core modules once (isolates share the compiled
 * code), and ask it what it exports.
 *
 * jco's transpile takes most of a second, so its output is cached on disk
 * by the component's SHA-256 (WRAY_CACHE_DIR, default a folder in the
 * system's temp directory); a cache that cannot be written is skipped.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { decode } from "@msgpack/msgpack";
import { ComponentInvalidError, WorldMismatchError } from "../errors.js";
import type { RuntimeHost } from "../isolate/index.js";
import type { GuestSourceMap } from "../../common/source-map.js";
import { readSourceMap } from "../../common/source-map.js";
import { GUEST_EXPORT, GuestInstance, loadComponent } from "../isolate/index.js";

// Node 20's V8 needs this for the constant expressions QuickJS guests use;
// later versions have it on by default (and ignore the flag). Every process
// that compiles components (drivers, and hosts started by the CLI) gets it here.
if (Number(process.versions.node.split(".")[0]) < 22) setFlagsFromString("--experimental-wasm-extended-const");

/** What a component exports, from its `describe`. */
export interface ComponentManifest {
  tasks: string[];
  actors: Record<string, string[]>;
  /**
   * The most arguments a task ("name"), an actor class's constructor
   * ("Class") or a method ("Class.method") takes, where the guest knows it
   * (TypeScript guests; compiled guests say nothing): calls with more are
   * refused where they are made.
   */
  maxArgs: Record<string, number>;
  /** The "Class.method" entries of `maxArgs`, by class and method (so a call needs no key built). */
  methodMaxArgs: Record<string, Record<string, number>>;
}

export interface PreparedComponent {
  readonly hash: string;
  /** Maps guest stack frames to source lines, for components `wray build` made. */
  readonly sourceMap: GuestSourceMap | undefined;
  /** jco's instantiation glue: an ES module's source. */
  readonly glue: string;
  readonly modules: Record<string, WebAssembly.Module>;
  readonly manifest: ComponentManifest;
}

const COMPONENT_MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
const CORE_MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const HOST_IMPORT = "wray:runtime/host";
const GPU_IMPORT = "wray:runtime/gpu";
/** The interfaces a guest may import, at the version this host provides. */
const PROVIDED: Record<string, string> = { [HOST_IMPORT]: "0.1.0", [GPU_IMPORT]: "0.1.0" };
const GLUE_NAME = "component";

function startsWith(b: Uint8Array, magic: number[]): boolean {
  return b.length >= magic.length && magic.every((x, i) => b[i] === x);
}

function cacheRoot(): string {
  if (process.env.WRAY_CACHE_DIR) return process.env.WRAY_CACHE_DIR;
  let user = "user";
  try {
    user = String(userInfo().uid);
  } catch {
    // no user database entry: share one folder
  }
  return join(tmpdir(), `wray-cache-${user}`);
}

interface Transpiled {
  glue: string;
  wasm: Record<string, Uint8Array>;
  imports: string[];
  exports: string[];
}

async function readCache(dir: string): Promise<Transpiled | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as { imports: string[]; exports: string[] };
    const glue = await readFile(join(dir, `${GLUE_NAME}.js`), "utf8");
    const wasm: Record<string, Uint8Array> = {};
    for (const f of await readdir(dir)) if (f.endsWith(".wasm")) wasm[f] = await readFile(join(dir, f));
    return { glue, wasm, imports: meta.imports, exports: meta.exports };
  } catch {
    return undefined;
  }
}

async function writeCache(dir: string, t: Transpiled): Promise<void> {
  const tmp = `${dir}.${process.pid}.${Date.now()}.tmp`;
  try {
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, `${GLUE_NAME}.js`), t.glue);
    for (const [f, b] of Object.entries(t.wasm)) await writeFile(join(tmp, f), b);
    await writeFile(join(tmp, "meta.json"), JSON.stringify({ imports: t.imports, exports: t.exports }));
    await rename(tmp, dir);
  } catch {
    // another process won the race, or the disk is read-only: the cache is an optimisation
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}

async function transpileComponent(bytes: Uint8Array, source: string): Promise<Transpiled> {
  const { transpile } = await import("@bytecodealliance/jco");
  let out: Awaited<ReturnType<typeof transpile>>;
  try {
    out = await transpile(bytes, {
      name: GLUE_NAME,
      instantiation: "sync",
      noTypescript: true,
      quiet: true,
      base64Cutoff: 0,
    });
  } catch (e) {
    throw new ComponentInvalidError(source, `it could not be read as a component: ${e instanceof Error ? e.message : String(e)}`);
  }
  const glueBytes = out.files[`${GLUE_NAME}.js`];
  if (!glueBytes) throw new ComponentInvalidError(source, "jco produced no instantiation glue for it");
  const wasm: Record<string, Uint8Array> = {};
  for (const [f, b] of Object.entries(out.files)) if (f.endsWith(".wasm") && !f.includes("/")) wasm[f] = b;
  return {
    glue: new TextDecoder().decode(glueBytes),
    wasm,
    imports: out.imports,
    exports: out.exports.filter(([, kind]) => kind === "instance").map(([name]) => name),
  };
}

function checkWorld(t: Transpiled, source: string): void {
  const extra = t.imports.filter((i) => !(i.replace(/@.*/, "") in PROVIDED));
  if (extra.length > 0) {
    throw new WorldMismatchError(
      source,
      `it imports ${extra.join(", ")}, which wray does not provide to guests (a guest may import only ${Object.keys(PROVIDED).join(" and ")})`,
    );
  }
  for (const m of t.glue.matchAll(/(wray:runtime\/(?:host|gpu))@([0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?)/g)) {
    const [, iface, v] = m as unknown as [string, string, string];
    if (PROVIDED[iface] !== v) throw new WorldMismatchError(source, `it imports ${iface}@${v}; this host provides ${iface}@${PROVIDED[iface]}`);
  }
  if (!t.exports.includes(GUEST_EXPORT)) {
    const other = t.exports.find((e) => e.startsWith("wray:runtime/guest@"));
    throw new WorldMismatchError(
      source,
      other
        ? `it exports ${other}; this host runs ${GUEST_EXPORT}`
        : `it does not export ${GUEST_EXPORT} (it exports ${t.exports.join(", ") || "no interfaces"}): build guests with \`wray build\``,
    );
  }
}

/** Host calls during `describe` have nowhere to go. */
const describeHost: RuntimeHost = {
  createActor() {
    throw new Error("describe() may not create actors");
  },
  callActor() {
    throw new Error("describe() may not call actors");
  },
  getActor() {
    throw new Error("describe() may not look up actors");
  },
  log() {},
  submit() {
    throw new Error("describe() may not submit tasks");
  },
  get() {
    throw new Error("describe() may not get objects");
  },
  wait() {
    throw new Error("describe() may not wait");
  },
  put() {
    throw new Error("describe() may not put objects");
  },
};

function parseManifest(raw: unknown, source: string): ComponentManifest {
  const m = raw as { tasks?: unknown; actors?: unknown } | null;
  if (!m || typeof m !== "object" || !Array.isArray(m.tasks) || !m.tasks.every((t) => typeof t === "string")) {
    throw new ComponentInvalidError(source, "its describe() returned no task list");
  }
  const actors: Record<string, string[]> = {};
  if (m.actors && typeof m.actors === "object") {
    for (const [k, v] of Object.entries(m.actors as Record<string, unknown>)) {
      actors[k] = Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
    }
  }
  const maxArgs: Record<string, number> = {};
  const methodMaxArgs: Record<string, Record<string, number>> = {};
  const limits = (m as { maxArgs?: unknown }).maxArgs;
  if (limits && typeof limits === "object") {
    for (const [k, v] of Object.entries(limits as Record<string, unknown>)) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) continue;
      maxArgs[k] = v;
      const dot = k.indexOf(".");
      if (dot > 0) (methodMaxArgs[k.slice(0, dot)] ??= {})[k.slice(dot + 1)] = v;
    }
  }
  return { tasks: m.tasks as string[], actors, maxArgs, methodMaxArgs };
}

/** Validates, transpiles (or reads the cache), compiles and describes a component. */
export async function prepareComponent(bytes: Uint8Array, source: string): Promise<PreparedComponent> {
  if (startsWith(bytes, CORE_MAGIC)) {
    throw new ComponentInvalidError(
      source,
      "it is a core WebAssembly module, not a component: build guests with `wray build`, or wrap a core module with `jco new`",
    );
  }
  if (!startsWith(bytes, COMPONENT_MAGIC)) throw new ComponentInvalidError(source, "it is not a WebAssembly component (bad header)");
  const hash = createHash("sha256").update(bytes).digest("hex");
  const dir = join(cacheRoot(), hash);
  let t = await readCache(dir);
  if (!t) {
    t = await transpileComponent(bytes, source);
    checkWorld(t, source);
    await mkdir(cacheRoot(), { recursive: true }).catch(() => {});
    await writeCache(dir, t);
  } else checkWorld(t, source);
  const modules: Record<string, WebAssembly.Module> = {};
  try {
    for (const [name, b] of Object.entries(t.wasm)) modules[name] = await WebAssembly.compile(b);
  } catch (e) {
    throw new ComponentInvalidError(source, `its core modules do not compile: ${e instanceof Error ? e.message : String(e)}`);
  }
  let manifest: ComponentManifest;
  try {
    const loaded = await loadComponent(-1, t.glue, modules);
    const inst = new GuestInstance(loaded, describeHost);
    manifest = parseManifest(decode(inst.describe()), source);
  } catch (e) {
    if (e instanceof ComponentInvalidError) throw e;
    throw new ComponentInvalidError(source, `it failed to start: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { hash, glue: t.glue, modules, manifest, sourceMap: readSourceMap(bytes) };
}

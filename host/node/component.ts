/**
 * Turning component bytes into something isolates can run: check that it
 * is a component of the `wray:runtime` world, generate jco's instantiation
 * glue for it, compile its core modules once (isolates share the compiled
 * code), and ask it what it exports.
 *
 * jco's transpile takes most of a second, so its output is cached on disk
 * by the component's SHA-256, in a folder of this user's alone (cacheRoot;
 * refused, with a warning, when another user could write it), each entry
 * bound to its component and checked file by file when read. A cache that
 * cannot be written is skipped.
 */
import { createHash } from "node:crypto";
import { lstatSync, statSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { decode } from "@msgpack/msgpack";
import { ComponentInvalidError, WorldMismatchError } from "../errors.js";
import type { RuntimeHost } from "../isolate/index.js";
import type { GuestSourceMap } from "../../common/source-map.js";
import { readSourceMap } from "../../common/source-map.js";
import { WASM_PAGE, withMemoryMax } from "../../common/wasm-binary.js";
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
  /** The core modules' bytes as jco made them (uncapped): variants with other memory caps are compiled from them. */
  readonly wasm: Readonly<Record<string, Uint8Array>>;
  /** The cap on linear memory `modules` were compiled with, MiB. */
  readonly memoryMb: number;
  /** Maps guest stack frames to source lines, for components `wray build` made. */
  readonly sourceMap: GuestSourceMap | undefined;
  /** jco's instantiation glue: an ES module's source. */
  readonly glue: string;
  readonly modules: Record<string, WebAssembly.Module>;
  readonly manifest: ComponentManifest;
}

/** A guest's linear memory cap when neither the host nor the task names one, MiB (wasm32 allows 4096). */
export const DEFAULT_GUEST_MEMORY_MB = 2048;
/** The most linear memory a wasm32 guest can have, MiB. */
export const MAX_GUEST_MEMORY_MB = 4096;

/** A core module's bytes with the memories it defines capped at `memoryMb` (as they are at wasm32's most). */
export function capMemory(core: Uint8Array, memoryMb: number): Uint8Array {
  return memoryMb >= MAX_GUEST_MEMORY_MB ? core : withMemoryMax(core, Math.floor((memoryMb * (1 << 20)) / WASM_PAGE));
}

/** Compiles core modules with their linear memory capped at `memoryMb` (ComponentInvalidError when they do not compile). */
async function compileCapped(wasm: Readonly<Record<string, Uint8Array>>, memoryMb: number, source: string): Promise<Record<string, WebAssembly.Module>> {
  const modules: Record<string, WebAssembly.Module> = {};
  try {
    for (const [name, b] of Object.entries(wasm)) modules[name] = await WebAssembly.compile(capMemory(b, memoryMb));
  } catch (e) {
    throw new ComponentInvalidError(source, `its core modules do not compile: ${e instanceof Error ? e.message : String(e)}`);
  }
  return modules;
}

const COMPONENT_MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
const CORE_MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const HOST_IMPORT = "wray:runtime/host";
const GPU_IMPORT = "wray:runtime/gpu";
/** The interfaces a guest may import, at the version this host provides. */
const PROVIDED: Record<string, string> = { [HOST_IMPORT]: "0.1.0", [GPU_IMPORT]: "0.1.0", "wray:runtime/host-async": "0.1.0" };
const GLUE_NAME = "component";

function startsWith(b: Uint8Array, magic: number[]): boolean {
  return b.length >= magic.length && magic.every((x, i) => b[i] === x);
}

/**
 * The glue cache's folder: $WRAY_CACHE_DIR, else $XDG_CACHE_HOME/wray, else
 * ~/.cache/wray. Its glue is JavaScript the host runs outside the sandbox,
 * so a folder another user could write is refused (see openCache).
 */
export function cacheRoot(): string {
  if (process.env.WRAY_CACHE_DIR) return resolve(process.env.WRAY_CACHE_DIR);
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache"), "wray");
}

/** Why the cache at `root` may not be used, or undefined when it is this user's alone. */
export function cacheUnsafe(root: string): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // no POSIX owners (Windows): the user's profile folder is private
  let st;
  try {
    st = lstatSync(root);
  } catch (e) {
    return `it cannot be read (${(e as NodeJS.ErrnoException).code})`;
  }
  if (st.isSymbolicLink()) return "it is a symbolic link";
  if (!st.isDirectory()) return "it is not a folder";
  if (st.uid !== uid) return `it is owned by uid ${st.uid}, not by this user (uid ${uid})`;
  if ((st.mode & 0o022) !== 0) return `it is writable by ${st.mode & 0o002 ? "every user" : "its group"} (mode ${(st.mode & 0o777).toString(8)})`;
  // a folder above it that others may write lets them swap it (unless sticky, as /tmp is)
  for (let dir = dirname(root); ; dir = dirname(dir)) {
    const up = statSync(dir, { throwIfNoEntry: false });
    const sticky = up !== undefined && (up.mode & 0o1000) !== 0;
    if (up && !sticky && ((up.mode & 0o002) !== 0 || ((up.mode & 0o020) !== 0 && up.uid !== uid))) return `${dir} above it is writable by other users`;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Warned once per process per folder. */
const refusedCaches = new Set<string>();

/** The cache's folder, made 0700 if missing; undefined (with one warning) when it is not safe to use. */
async function openCache(): Promise<string | undefined> {
  const root = cacheRoot();
  await mkdir(root, { recursive: true, mode: 0o700 }).catch(() => {});
  const why = cacheUnsafe(root);
  if (why === undefined) return root;
  if (!refusedCaches.has(root)) {
    refusedCaches.add(root);
    process.emitWarning(`wray: not using the component cache ${root}: ${why}. Components are transpiled each time; fix the folder (chmod 700, owned by you) or set WRAY_CACHE_DIR.`, { code: "WRAY_CACHE_REFUSED" });
  }
  return undefined;
}

interface Transpiled {
  glue: string;
  wasm: Record<string, Uint8Array>;
  imports: string[];
  exports: string[];
}

/** What an entry's meta.json binds: the component it was made from, the tool that made it, and the SHA-256 of each file. */
interface CacheMeta {
  component: string;
  jco: string;
  imports: string[];
  exports: string[];
  files: Record<string, string>;
}

function sha256(b: Uint8Array | string): string {
  return createHash("sha256").update(b).digest("hex");
}

let jcoVersion: string | undefined;
async function toolVersion(): Promise<string> {
  if (jcoVersion === undefined) {
    jcoVersion = "unknown";
    try {
      // its package.json is not among its exports: found above its entry point
      for (let d = dirname(fileURLToPath(import.meta.resolve("@bytecodealliance/jco"))); dirname(d) !== d; d = dirname(d)) {
        const pkg = JSON.parse(await readFile(join(d, "package.json"), "utf8").catch(() => "{}")) as { name?: string; version?: string };
        if (pkg.name === "@bytecodealliance/jco") {
          jcoVersion = String(pkg.version);
          break;
        }
      }
    } catch {
      // not found: entries are bound to "unknown", and made again when it is found
    }
  }
  return jcoVersion;
}

/**
 * Reads the entry for component `hash`: only if its meta.json names that
 * component and this jco, and every file hashes to what meta.json says
 * (anything else is a miss, and the entry is made again).
 */
async function readCache(dir: string, hash: string): Promise<Transpiled | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as CacheMeta;
    if (meta.component !== hash || meta.jco !== (await toolVersion()) || typeof meta.files !== "object") return undefined;
    const glue = await readFile(join(dir, `${GLUE_NAME}.js`), "utf8");
    if (sha256(glue) !== meta.files[`${GLUE_NAME}.js`]) return undefined;
    const wasm: Record<string, Uint8Array> = {};
    for (const [f, want] of Object.entries(meta.files)) {
      if (!f.endsWith(".wasm")) continue;
      if (basename(f) !== f) return undefined;
      const b = await readFile(join(dir, f));
      if (sha256(b) !== want) return undefined;
      wasm[f] = b;
    }
    return { glue, wasm, imports: meta.imports, exports: meta.exports };
  } catch {
    return undefined;
  }
}

async function writeCache(dir: string, hash: string, t: Transpiled): Promise<void> {
  const tmp = `${dir}.${process.pid}.${Date.now()}.tmp`;
  try {
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    const files: Record<string, string> = { [`${GLUE_NAME}.js`]: sha256(t.glue) };
    await writeFile(join(tmp, `${GLUE_NAME}.js`), t.glue, { mode: 0o600 });
    for (const [f, b] of Object.entries(t.wasm)) {
      await writeFile(join(tmp, f), b, { mode: 0o600 });
      files[f] = sha256(b);
    }
    const meta: CacheMeta = { component: hash, jco: await toolVersion(), imports: t.imports, exports: t.exports, files };
    await writeFile(join(tmp, "meta.json"), JSON.stringify(meta), { mode: 0o600 });
    // an entry that failed its check is replaced
    await rm(dir, { recursive: true, force: true });
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
  for (const m of t.glue.matchAll(/(wray:runtime\/(?:host|gpu|host-async))@([0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?)/g)) {
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
  cancelled: () => false,
  cancel() {
    throw new Error("describe() may not cancel tasks");
  },
  defer() {
    throw new Error("describe() may not defer results");
  },
  resolve() {
    throw new Error("describe() may not resolve calls");
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

/**
 * Validates, transpiles (or reads the cache), compiles (linear memory
 * capped at `memoryMb`) and describes a component.
 */
export async function prepareComponent(bytes: Uint8Array, source: string, memoryMb = DEFAULT_GUEST_MEMORY_MB): Promise<PreparedComponent> {
  if (startsWith(bytes, CORE_MAGIC)) {
    throw new ComponentInvalidError(
      source,
      "it is a core WebAssembly module, not a component: build guests with `wray build`, or wrap a core module with `jco new`",
    );
  }
  if (!startsWith(bytes, COMPONENT_MAGIC)) throw new ComponentInvalidError(source, "it is not a WebAssembly component (bad header)");
  const hash = sha256(bytes);
  const root = await openCache();
  let t = root === undefined ? undefined : await readCache(join(root, hash), hash);
  if (!t) {
    t = await transpileComponent(bytes, source);
    checkWorld(t, source);
    if (root !== undefined) await writeCache(join(root, hash), hash, t);
  } else checkWorld(t, source);
  const modules = await compileCapped(t.wasm, memoryMb, source);
  let manifest: ComponentManifest;
  try {
    const loaded = await loadComponent(-1, t.glue, modules);
    const inst = new GuestInstance(loaded, describeHost);
    manifest = parseManifest(decode(inst.describe()), source);
  } catch (e) {
    if (e instanceof ComponentInvalidError) throw e;
    throw new ComponentInvalidError(source, `it failed to start: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { hash, wasm: t.wasm, memoryMb, glue: t.glue, modules, manifest, sourceMap: readSourceMap(bytes) };
}

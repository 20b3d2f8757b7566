/**
 * `wray build` for TypeScript and JavaScript guests: bundle the module and
 * the guest SDK with esbuild into one ES module, then compile it, with the
 * QuickJS engine, into a component of the `wray:runtime` world
 * (componentize-qjs, which snapshots the initialized module with Wizer so
 * instances start in milliseconds).
 *
 * QuickJS over SpiderMonkey (componentize-js), measured here for a
 * `list<u8>` echo: 1.6 MB vs 12 MB components, ~130k vs ~32k calls/s, and
 * a few MB of linear memory where componentize-js grew to hundreds of MB.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { SourceMap } from "node:module";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAsGuest } from "./build-as.js";
import { withCustomSection } from "../common/wasm-binary.js";
import { SOURCE_MAP_SECTION, remapStack } from "../common/source-map.js";
import type { BuildResult } from "./build-native.js";
import { buildCGuest, buildRustGuest, writeComponent } from "./build-native.js";
import { BuildError } from "./errors.js";

/** Languages `wray build` compiles: TypeScript/JavaScript (QuickJS), AssemblyScript, C, Rust. */
export type GuestLanguage = "js" | "as" | "c" | "rust";
export const GUEST_LANGUAGES: readonly GuestLanguage[] = ["js", "as", "c", "rust"];

/**
 * The language of a guest entry when none is given: `.c` is C, `.rs` Rust; a module
 * that imports `wray/as`, or that has an `asconfig.json` beside it, is
 * AssemblyScript; anything else TypeScript/JavaScript.
 */
export function guestLanguage(entry: string): GuestLanguage {
  if (entry.endsWith(".c")) return "c";
  if (entry.endsWith(".rs")) return "rust";
  if (!/\.[cm]?[jt]sx?$/.test(entry)) return "js";
  if (existsSync(join(dirname(resolve(entry)), "asconfig.json"))) return "as";
  try {
    if (/\bfrom\s+["']wray\/as["']/.test(readFileSync(entry, "utf8"))) return "as";
  } catch {
    // a missing file is reported by the build
  }
  return "js";
}

export interface BuildOptions {
  /** Where to write the component. Default: the entry's path with `.wasm`. */
  output?: string;
  /** Use QuickJS's smaller build (~1.1 MB instead of ~1.6 MB, slower calls). */
  optimizeSize?: boolean;
  /** The guest's language; default: guestLanguage(entry). */
  lang?: GuestLanguage;
}

export type { BuildResult } from "./build-native.js";

const here = dirname(fileURLToPath(import.meta.url));

const fromSource = import.meta.url.endsWith(".ts");

/** The wit/ folder of this package. */
export function witDir(): string {
  return resolve(here, "..", "wit");
}

/** The guest SDK module that `wray/guest` means inside a guest bundle. */
function guestRuntime(): string {
  return fromSource ? resolve(here, "runtime", "index.ts") : resolve(here, "guest.js");
}

function messages(e: unknown): string[] {
  const errs = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
  if (!Array.isArray(errs)) return [e instanceof Error ? e.message : String(e)];
  return errs.map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text));
}

/**
 * Builds a guest component from a TypeScript or JavaScript module whose
 * exported functions are tasks and exported classes actors.
 * Throws BuildError for a missing file, code that does not compile, a
 * module that exports nothing, or a module whose top level throws.
 */
export async function buildGuest(entry: string, options: BuildOptions = {}): Promise<BuildResult> {
  const file = resolve(entry);
  if (!existsSync(file) || !statSync(file).isFile()) throw new BuildError(`no such file: ${entry}`);
  const lang = options.lang ?? guestLanguage(file);
  if (lang === "c") return buildCGuest([entry], witDir(), { output: options.output });
  if (lang === "rust") return buildRustGuest(entry, witDir(), { output: options.output });
  if (lang === "as") return buildAsGuest(entry, witDir(), { output: options.output, optimizeSize: options.optimizeSize });
  if (lang !== "js") throw new BuildError(`unknown guest language '${String(lang)}' (known: ${GUEST_LANGUAGES.join(", ")})`);
  const output = resolve(options.output ?? file.replace(/\.[cm]?[jt]sx?$/, "") + ".wasm");
  const esbuild = await import("esbuild");
  const sdk = guestRuntime();
  const common = {
    bundle: true,
    write: false,
    format: "esm" as const,
    platform: "neutral" as const,
    target: "es2022",
    keepNames: true,
    logLevel: "silent" as const,
    external: ["wray:runtime/*"],
    alias: { "wray/guest": sdk },
    mainFields: ["module", "main"],
  };

  // 1. what does the module export?
  let exports: string[];
  try {
    const r = await esbuild.build({ ...common, entryPoints: [file], metafile: true });
    const out = Object.values(r.metafile.outputs)[0];
    exports = out?.exports ?? [];
  } catch (e) {
    throw new BuildError(`${entry} does not compile`, messages(e));
  }
  if (exports.length === 0) {
    throw new BuildError(`${entry} exports nothing: export the functions (tasks) and classes (actors) wray should run`);
  }

  // 2. bundle it behind the SDK's entry, and 3. compile to a component; a
  // module with async functions is built again for the async world (its
  // entry hands the SDK the host-async import, and the component-model
  // async runtime drives its awaits; the others keep the faster sync one)
  let built = await bundleAndComponentize(esbuild, common, entry, file, false, options.optimizeSize ?? false);
  if (built.asyncExports) built = await bundleAndComponentize(esbuild, common, entry, file, true, options.optimizeSize ?? false);
  const map = built.map;
  let component = built.component!;
  // the source map of the bundle, read back by common/source-map.ts
  if (map) component = withCustomSection(component, SOURCE_MAP_SECTION, JSON.stringify({ bundle: basename(file), map: JSON.parse(map), root: relative(process.cwd(), dirname(file)) }));
  return writeComponent(output, component, exports);
}

/**
 * Bundles `file` behind the SDK's entry and compiles the bundle to a
 * component: of the `runtime` world with the sync runtime, or (`async`)
 * of `runtime-async` with the component-model async runtime. For a sync
 * build of a module whose only unsupported exports are async functions,
 * returns `asyncExports: true` (and no component): build it async.
 */
async function bundleAndComponentize(esbuild: Esbuild, common: Record<string, unknown>, entry: string, file: string, async: boolean, optSize: boolean): Promise<{ map: string | undefined; component?: Uint8Array; asyncExports?: boolean }> {
  let js: string;
  let map: string | undefined;
  try {
    const r = await esbuild.build({
      ...common,
      // a source map lets the host turn guest stack traces back into source lines
      sourcemap: "external",
      sourcesContent: false,
      outfile: join(dirname(file), "__wray_bundle.js"),
      stdin: {
        // the SDK first: its polyfills (TextEncoder, console, ...) must be
        // there before the guest's own top level runs
        contents: async
          ? `import { __wrayExports, __wrayAsyncExports } from "wray/guest";\n` +
            `import { watch } from "wray:runtime/host-async@0.1.0";\n` +
            `import * as user from ${JSON.stringify(file)};\n` +
            `export const guest = __wrayExports(user, { watch });\n` +
            `export const guestAsync = __wrayAsyncExports();\n`
          : `import { __wrayExports } from "wray/guest";\n` + `import * as user from ${JSON.stringify(file)};\n` + `export const guest = __wrayExports(user);\n`,
        resolveDir: dirname(file),
        sourcefile: "wray-entry.js",
        loader: "js",
      },
    });
    const files = r.outputFiles!;
    js = files.find((f) => f.path.endsWith(".js"))!.text;
    map = files.find((f) => f.path.endsWith(".map"))?.text;
  } catch (e) {
    throw new BuildError(`${entry} does not compile`, messages(e));
  }
  const { componentize } = await import("componentize-qjs");
  try {
    const { component } = await componentize({ witPath: witDir(), world: async ? "runtime-async" : "runtime", jsSource: js, jsPath: file, stubWasi: true, sync: !async, optSize });
    return { map, component };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!async && onlyAsyncUnsupported(message)) return { map, asyncExports: true };
    const err = initError(entry, file, js, map, message);
    // QuickJS gives top-level code no useful positions: find where it threw by running it once more, in V8
    if (err.message.includes(TOP_LEVEL_THREW)) {
      const where = await topLevelThrowInV8(esbuild, common, file);
      if (where) throw new BuildError(err.message.split("\n")[0]!, [`${where.position}: ${where.message}`]);
    }
    throw err;
  }
}

/** Whether a failed sync build failed only for exports that are async functions or methods. */
function onlyAsyncUnsupported(message: string): boolean {
  const found = unsupportedIn(message);
  return found !== undefined && found.length > 0 && found.every((u) => u.form === "async");
}

/** The exports the SDK refused (its UNSUPPORTED_EXPORTS error), if that is what `message` is. */
function unsupportedIn(message: string): UnsupportedExport[] | undefined {
  const at = message.indexOf(UNSUPPORTED_EXPORTS);
  if (at < 0) return undefined;
  try {
    return JSON.parse(/^\[.*?\](?=\s|$)/.exec(message.slice(at + UNSUPPORTED_EXPORTS.length))?.[0] ?? "[]") as UnsupportedExport[];
  } catch {
    return undefined;
  }
}

/** Marks the error the SDK's `__wrayExports` throws for exports wray cannot run (guest-sdk/runtime/index.ts). */
const UNSUPPORTED_EXPORTS = "WRAY_UNSUPPORTED_EXPORTS:";
const NO_TASKS = "WRAY_NO_TASKS:";

interface UnsupportedExport {
  export: string;
  method?: string;
  form: string;
}

/**
 * Why the module failed while the component was made (its top level runs
 * then): exports wray cannot run, each at its source line, or what its
 * top level threw, at source positions.
 */
function initError(entry: string, file: string, js: string, mapText: string | undefined, message: string): BuildError {
  const sm = mapText ? { bundle: basename(file), root: relative(process.cwd(), dirname(file)), map: new SourceMap(JSON.parse(mapText)) } : undefined;
  // async functions are not refused: a module with them is built for the async world (once nothing else is refused)
  const found = (unsupportedIn(message) ?? []).filter((u) => u.form !== "async");
  {
    if (found.length > 0) {
      const lines = found.map((u) => {
        const what = u.method === undefined ? `export '${u.export}' is ${u.form} function` : `method '${u.export}.${u.method}' is ${u.form} method`;
        const where = sm ? declarationPosition(js, sm, u) : undefined;
        return `${where ?? entry}: ${what}: wray runs functions and async functions as tasks and methods, not generators`;
      });
      return new BuildError(`${entry} exports what wray cannot run`, lines);
    }
  }
  const none = message.indexOf(NO_TASKS);
  if (none >= 0) {
    const names = /^\[.*?\](?=\s|$)/.exec(message.slice(none + NO_TASKS.length))?.[0] ?? "[]";
    return new BuildError(`${entry} exports no functions or classes, so it has no tasks or actors (it exports ${(JSON.parse(names) as string[]).join(", ")}): export the functions (tasks) and classes (actors) wray should run`);
  }
  // what the top level threw, with positions in the bundle turned into source lines
  const text = message.replace(/^.*?Failed to finish JavaScript module evaluation:\s*/s, "");
  const mapped = sm ? remapStack(text, sm) : text;
  const lines = mapped.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  const threw = /Failed to (?:finish|evaluate)/.test(message);
  return new BuildError(threw ? `${entry}: ${TOP_LEVEL_THREW} while the component was made (the module runs once then, to snapshot it)` : `${entry} could not be compiled to a component`, lines);
}

const TOP_LEVEL_THREW = "its top level threw";

type Esbuild = typeof import("esbuild");

/**
 * Runs the guest's top level once in a V8 context of its own (host calls
 * stubbed: none are answered while a module initializes) to find where it
 * throws, as `file:line:column` of the guest's source. Undefined when it
 * does not throw there (the failure is QuickJS's own) or cannot be run.
 */
async function topLevelThrowInV8(esbuild: Esbuild, common: Record<string, unknown>, file: string): Promise<{ position: string; message: string } | undefined> {
  const outfile = join(dirname(file), "__wray_probe.js");
  let code: string;
  let mapText: string;
  try {
    const r = await esbuild.build({
      ...common,
      format: "iife",
      external: [],
      sourcemap: "external",
      sourcesContent: false,
      outfile,
      plugins: [
        {
          name: "wray-host-stub",
          setup(b) {
            b.onResolve({ filter: /^wray:runtime\// }, (a) => ({ path: a.path, namespace: "wray-host-stub" }));
            b.onLoad({ filter: /.*/, namespace: "wray-host-stub" }, () => ({
              contents: `export default new Proxy({ now: () => Date.now(), randomSeed: () => 1n, log: () => {} }, { get: (t, k) => t[k] ?? (() => { throw new Error("host calls are not answered while the module initializes"); }) });`,
              loader: "js",
            }));
          },
        },
      ],
      stdin: {
        contents: `import { __wrayExports } from "wray/guest";\nimport * as user from ${JSON.stringify(file)};\n__wrayExports(user);\n`,
        resolveDir: dirname(file),
        sourcefile: "wray-entry.js",
        loader: "js",
      },
    });
    const files = r.outputFiles!;
    code = files.find((f) => f.path.endsWith(".js"))!.text;
    mapText = files.find((f) => f.path.endsWith(".map"))!.text;
  } catch {
    return undefined;
  }
  const { runInNewContext } = await import("node:vm");
  try {
    runInNewContext(code, {}, { filename: outfile, timeout: 5000 });
    return undefined;
  } catch (e) {
    const sm = new SourceMap(JSON.parse(mapText));
    // an error of the context's own realm: not an `instanceof Error` here
    const err = (e ?? {}) as { name?: unknown; message?: unknown; stack?: unknown };
    const stack = typeof err.stack === "string" ? err.stack : "";
    const message = typeof err.message === "string" ? `${String(err.name ?? "Error")}: ${err.message}` : String(e);
    const root = relative(process.cwd(), dirname(file));
    // the first frame in the guest's own files (not the SDK's)
    for (const m of stack.matchAll(/__wray_probe\.js:(\d+):(\d+)/g)) {
      const entry = sm.findEntry(Number(m[1]) - 1, Number(m[2]) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
      if (entry?.originalSource === undefined || entry.originalLine === undefined || /guest-sdk|dist[\\/]guest\.js|wray-entry/.test(entry.originalSource)) continue;
      return { position: `${join(root, entry.originalSource)}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`, message };
    }
    return undefined;
  }
}

/** `file:line:column` of the declaration of export `u` (or its method) in the guest's source, found through the bundle. */
function declarationPosition(js: string, sm: { root: string; map: SourceMap }, u: UnsupportedExport): string | undefined {
  // the entry's call (the SDK's own definition of the function comes first)
  const ns = /\bguest\s*=\s*__wrayExports\(([\w$]+)\)/.exec(js)?.[1];
  if (!ns) return undefined;
  const table = new RegExp(`__export\\(${escapeRe(ns)},\\s*\\{([^}]*)\\}`).exec(js)?.[1] ?? "";
  const local = new RegExp(`(?:^|[\\s,])${escapeRe(u.export)}:\\s*\\(\\)\\s*=>\\s*([\\w$]+)`).exec(table)?.[1];
  if (!local) return undefined;
  const decl = new RegExp(`(?:(?:async\\s+)?function\\s*\\*?\\s*${escapeRe(local)}\\s*\\(|(?:var|let|const)\\s+${escapeRe(local)}\\s*=|class\\s+${escapeRe(local)}\\b)`).exec(js);
  if (!decl) return undefined;
  let offset = decl.index;
  if (u.method !== undefined) {
    const rest = js.slice(offset);
    const m = new RegExp(`(?:async\\s*\\*?\\s*|\\*\\s*)${escapeRe(u.method)}\\s*\\(`).exec(rest);
    if (!m) return undefined;
    offset += m.index;
  }
  const before = js.slice(0, offset);
  const line = before.split("\n").length - 1;
  const column = offset - (before.lastIndexOf("\n") + 1);
  const e = sm.map.findEntry(line, column) as { originalSource?: string; originalLine?: number; originalColumn?: number };
  if (e?.originalSource === undefined || e.originalLine === undefined) return undefined;
  return `${join(sm.root, e.originalSource)}:${e.originalLine + 1}:${(e.originalColumn ?? 0) + 1}`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

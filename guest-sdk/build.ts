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
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAsGuest } from "./build-as.js";
import { withCustomSection } from "../common/wasm-binary.js";
import { SOURCE_MAP_SECTION } from "../host/source-map.js";
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

export interface BuildResult {
  output: string;
  bytes: number;
  /** The module's exports, as esbuild saw them. */
  exports: string[];
}

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

  // 2. the module plus the SDK glue that turns its exports into the component's
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
        contents:
          `import * as user from ${JSON.stringify(file)};\n` +
          `import { __wrayExports } from "wray/guest";\n` +
          `export const guest = __wrayExports(user);\n`,
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

  // 3. compile to a component
  const { componentize } = await import("componentize-qjs");
  let component: Uint8Array;
  try {
    ({ component } = await componentize({
      witPath: witDir(),
      world: "runtime",
      jsSource: js,
      jsPath: file,
      stubWasi: true,
      sync: true,
      optSize: options.optimizeSize ?? false,
    }));
  } catch (e) {
    throw new BuildError(`${entry} could not be compiled to a component (does its top level throw?)`, [
      e instanceof Error ? e.message : String(e),
    ]);
  }
  // the source map of the bundle, read back by host/source-map.ts
  if (map) component = withCustomSection(component, SOURCE_MAP_SECTION, JSON.stringify({ bundle: basename(file), map: JSON.parse(map), root: relative(process.cwd(), dirname(file)) }));
  return writeComponent(output, component, exports);
}

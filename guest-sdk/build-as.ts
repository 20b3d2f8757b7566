/**
 * `wray build --lang as`: AssemblyScript guests. The compiler (npm
 * `assemblyscript`, the project's optional peer) turns the user's module
 * plus the SDK (guest-sdk/as, imported as `wray/as`) into a core module
 * that implements the `wray:runtime` world's canonical ABI itself; its
 * exports are renamed to the component model's names and the module is
 * wrapped as a component (componentFromCore).
 *
 * Nothing is written beside the user's sources: the entry that re-exports
 * the SDK's ABI functions and the SDK's files are served to the compiler
 * from memory through its file-system hooks.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renameExports } from "../common/wasm-binary.js";
import { componentFromCore, writeComponent } from "./build-native.js";
import { BuildError } from "./errors.js";
import type { BuildResult } from "./build-native.js";

const here = dirname(fileURLToPath(import.meta.url));
const GUEST = "wray:runtime/guest@0.1.0";

/** The folder holding the AssemblyScript SDK (guest-sdk/as in the repository and in the package). */
export function asSdkDir(): string {
  for (const d of [resolve(here, "as"), resolve(here, "..", "guest-sdk", "as")]) if (existsSync(join(d, "index.ts"))) return d;
  throw new BuildError("cannot find the AssemblyScript guest SDK (guest-sdk/as) beside this package");
}

/** The SDK's ABI functions, by the names AssemblyScript exports them under and the names the component model needs. */
const ABI_EXPORTS: Record<string, string> = {
  cabi_realloc: "cabi_realloc",
  wray_describe: `${GUEST}#describe`,
  wray_invoke: `${GUEST}#invoke`,
  wray_construct: `${GUEST}#construct`,
  wray_call: `${GUEST}#call`,
  wray_post_describe: `cabi_post_${GUEST}#describe`,
  wray_post_invoke: `cabi_post_${GUEST}#invoke`,
  wray_post_construct: `cabi_post_${GUEST}#construct`,
  wray_post_call: `cabi_post_${GUEST}#call`,
};

// where the compiler looks for the `wray` package (asc --path); served from asSdkDir()
const SDK_ROOT = "/__wray_sdk__";
const ENTRY = "__wray_entry__.ts";

interface AscApi {
  main(
    argv: string[],
    options: {
      readFile(name: string, baseDir: string): string | null | Promise<string | null>;
      writeFile(name: string, contents: Uint8Array | string, baseDir: string): void | Promise<void>;
      listFiles(dir: string, baseDir: string): string[] | null | Promise<string[] | null>;
      stdout: { write(s: string | Uint8Array): void };
      stderr: { write(s: string | Uint8Array): void };
    },
  ): Promise<{ error: Error | null }>;
}

/** Whether AssemblyScript guests can be built here (the compiler is installed). */
export async function asToolchainAvailable(): Promise<boolean> {
  try {
    await import("assemblyscript/asc");
    return true;
  } catch {
    return false;
  }
}

/** AssemblyScript's diagnostics as `file:line:column: message` lines. */
function diagnostics(text: string, dir: string): string[] {
  const out: string[] = [];
  const re = /(ERROR|WARNING) (?:(TS\d+|AS\d+): )?([^\n]*)\n[\s\S]*?└─ in ([^\n(]+)\((\d+),(\d+)\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] !== "ERROR") continue;
    const file = m[4]!.startsWith("~lib/") ? m[4]! : join(dir, m[4]!);
    out.push(`${file}:${m[5]}:${m[6]}: ${m[3]}`);
  }
  return out;
}

export interface AsBuildOptions {
  output?: string;
  /** Optimize for size (-Oz) instead of speed (-O3). */
  optimizeSize?: boolean;
}

/** Builds an AssemblyScript guest whose top level declares its tasks and actors with `task(...)` and `actor(...)`. */
export async function buildAsGuest(entry: string, witDir: string, options: AsBuildOptions = {}): Promise<BuildResult> {
  const file = resolve(entry);
  if (!existsSync(file) || !statSync(file).isFile()) throw new BuildError(`no such file: ${entry}`);
  const output = resolve(options.output ?? file.replace(/\.ts$/, "") + ".wasm");
  let asc: AscApi;
  try {
    asc = (await import("assemblyscript/asc")) as unknown as AscApi;
  } catch {
    throw new BuildError("AssemblyScript guests need the compiler: npm install --save-dev assemblyscript");
  }
  const dir = dirname(file);
  const sdk = asSdkDir();
  const userModule = "./" + basename(file).replace(/\.ts$/, "");
  const entrySource =
    `import ${JSON.stringify(userModule)};\n` +
    `export { ${Object.keys(ABI_EXPORTS).join(", ")} } from "wray/as/abi";\n`;
  let core: Uint8Array | undefined;
  let errors = "";
  const { error } = await asc.main(
    [
      ENTRY,
      "--outFile", "core.wasm",
      "--baseDir", dir,
      "--path", SDK_ROOT,
      ...(options.optimizeSize ? ["-Oz"] : ["-O3"]),
      "--runtime", "incremental",
      "--use", "abort=~lib/wray/as/abi/wrayAbort",
      "--use", "seed=~lib/wray/as/host/wraySeed",
      "--noColors",
    ],
    {
      readFile(name, baseDir) {
        const path = resolve(baseDir, name);
        if (path === join(dir, ENTRY)) return entrySource;
        if (path.startsWith(`${SDK_ROOT}/wray/as/`)) {
          const f = join(sdk, path.slice(`${SDK_ROOT}/wray/as/`.length));
          return existsSync(f) ? readFileSync(f, "utf8") : null;
        }
        try {
          return readFileSync(path, "utf8");
        } catch {
          return null;
        }
      },
      writeFile(name, contents) {
        if (basename(name) === "core.wasm" && typeof contents !== "string") core = contents;
      },
      listFiles() {
        return [];
      },
      stdout: { write() {} },
      stderr: {
        write(s) {
          errors += typeof s === "string" ? s : new TextDecoder().decode(s);
        },
      },
    },
  );
  if (error || !core) {
    const diags = diagnostics(errors, dir);
    throw new BuildError(`${entry} does not compile`, diags.length > 0 ? diags : [(errors || error?.message || "no output").trim()]);
  }
  const component = await componentFromCore(renameExports(core, ABI_EXPORTS), witDir, {
    hint: "AssemblyScript's Date, console and process need the host: use now() and log() from wray/as",
  });
  return writeComponent(output, component);
}

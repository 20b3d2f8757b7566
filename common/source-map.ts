/**
 * Guest stack traces name the bundled JavaScript that `wray build` made;
 * the build stores the bundle's source map in a custom section of the
 * component (`wray-sourcemap`), and the host maps frames back to the
 * guest's own files and lines with it.
 */
import { SourceMap } from "node:module";
import { join } from "node:path";
import { customSection, sections } from "./wasm-binary.js";

export const SOURCE_MAP_SECTION = "wray-sourcemap";

export interface GuestSourceMap {
  /** The file name frames of the bundle carry (the build's entry). */
  readonly bundle: string;
  /** Where sources are, relative to the directory `wray build` ran in. */
  readonly root: string;
  readonly map: SourceMap;
}

/** The source map a component carries, if any (a scan of its top-level sections). */
export function readSourceMap(component: Uint8Array): GuestSourceMap | undefined {
  try {
    for (const s of sections(component)) {
      const c = customSection(component, s);
      if (c?.name !== SOURCE_MAP_SECTION) continue;
      const payload = JSON.parse(new TextDecoder().decode(c.payload)) as {
        bundle: string;
        root: string;
        map: ConstructorParameters<typeof SourceMap>[0];
      };
      return { bundle: payload.bundle, root: payload.root ?? "", map: new SourceMap(payload.map) };
    }
  } catch {
    // a malformed section only costs the guest its mapped stack traces
  }
  return undefined;
}

/** Rewrites `(file:line:column)` frames of the bundle into source positions. */
export function remapStack(stack: string, sm: GuestSourceMap | undefined): string {
  if (!sm || !stack) return stack;
  return stack.replace(/([(\s])([^()\s]+):(\d+):(\d+)(\)?)/g, (whole, open: string, file: string, line: string, col: string, close: string) => {
    if (!file.endsWith(sm.bundle)) return whole;
    const e = sm.map.findEntry(Number(line) - 1, Number(col) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (!e || e.originalSource === undefined || e.originalLine === undefined) return whole;
    return `${open}${join(sm.root, e.originalSource)}:${e.originalLine + 1}:${(e.originalColumn ?? 0) + 1}${close}`;
  });
}

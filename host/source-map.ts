/**
 * Guest stack traces name the bundled JavaScript that `wray build` made;
 * the build stores the bundle's source map in a custom section of the
 * component (`wray-sourcemap`), and the host maps frames back to the
 * guest's own files and lines with it.
 */
import { SourceMap } from "node:module";
import { join } from "node:path";

export const SOURCE_MAP_SECTION = "wray-sourcemap";

export interface GuestSourceMap {
  /** The file name frames of the bundle carry (the build's entry). */
  readonly bundle: string;
  /** Where sources are, relative to the directory `wray build` ran in. */
  readonly root: string;
  readonly map: SourceMap;
}

function leb(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const x = b[at++];
    if (x === undefined) throw new RangeError("truncated LEB128");
    v += (x & 0x7f) * 2 ** shift;
    if ((x & 0x80) === 0) return [v, at];
    shift += 7;
  }
}

/** The source map a component carries, if any (a scan of its top-level sections). */
export function readSourceMap(component: Uint8Array): GuestSourceMap | undefined {
  try {
    let at = 8;
    while (at < component.length) {
      const id = component[at++];
      const [size, body] = leb(component, at);
      at = body + size;
      if (id !== 0) continue;
      const [nameLen, nameAt] = leb(component, body);
      const name = new TextDecoder().decode(component.subarray(nameAt, nameAt + nameLen));
      if (name !== SOURCE_MAP_SECTION) continue;
      const payload = JSON.parse(new TextDecoder().decode(component.subarray(nameAt + nameLen, body + size))) as {
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

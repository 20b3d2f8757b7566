/**
 * The little of the WebAssembly binary format wray reads and writes itself:
 * LEB128 numbers and the top-level sections of a module or component
 * (both start with an 8-byte preamble, then `id size body` sections).
 */

/** Reads an unsigned LEB128 at `at`; returns the value and where the next byte is. */
export function readLeb128(b: Uint8Array, at: number): [value: number, next: number] {
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

/** Encodes an unsigned LEB128. */
export function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let x = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) x |= 0x80;
    out.push(x);
  } while (n > 0);
  return out;
}

export interface Section {
  id: number;
  /** Where the section starts (its id byte). */
  start: number;
  /** Where its body starts. */
  body: number;
  /** Where it ends (the next section's start). */
  end: number;
}

/** The top-level sections of a module or component, in order. */
export function* sections(binary: Uint8Array): Generator<Section> {
  let at = 8;
  while (at < binary.length) {
    const id = binary[at]!;
    const [size, body] = readLeb128(binary, at + 1);
    yield { id, start: at, body, end: body + size };
    at = body + size;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/** Appends a custom section (id 0) named `name` holding `text`. */
export function withCustomSection(binary: Uint8Array, name: string, text: string): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const body = new TextEncoder().encode(text);
  const head = [...leb128(nameBytes.length), ...nameBytes];
  return concat([binary, Uint8Array.from([0, ...leb128(head.length + body.length), ...head]), body]);
}

/** A custom section's name and payload, or undefined for other sections. */
export function customSection(binary: Uint8Array, s: Section): { name: string; payload: Uint8Array } | undefined {
  if (s.id !== 0) return undefined;
  const [nameLen, nameAt] = readLeb128(binary, s.body);
  return { name: new TextDecoder().decode(binary.subarray(nameAt, nameAt + nameLen)), payload: binary.subarray(nameAt + nameLen, s.end) };
}

/**
 * Renames a core module's exports (`from` → `to`). Compilers whose export
 * names must be identifiers (AssemblyScript) cannot spell the component
 * model's `wray:runtime/guest@0.1.0#invoke`, so they export plain names
 * that are renamed here, in the export section (id 7).
 */
export function renameExports(core: Uint8Array, names: Readonly<Record<string, string>>): Uint8Array {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const parts: Uint8Array[] = [core.subarray(0, 8)];
  for (const s of sections(core)) {
    if (s.id !== 7) {
      parts.push(core.subarray(s.start, s.end));
      continue;
    }
    let [count, p] = readLeb128(core, s.body);
    const out: number[] = leb128(count);
    for (let i = 0; i < count; i++) {
      const [n, at] = readLeb128(core, p);
      const name = dec.decode(core.subarray(at, at + n));
      const kind = core[at + n]!;
      const [index, next] = readLeb128(core, at + n + 1);
      p = next;
      const bytes = enc.encode(names[name] ?? name);
      out.push(...leb128(bytes.length), ...bytes, kind, ...leb128(index));
    }
    parts.push(Uint8Array.from([7, ...leb128(out.length), ...out]));
  }
  return concat(parts);
}

/** WebAssembly pages are 64 KiB. */
export const WASM_PAGE = 65536;

/**
 * Caps the memories a core module defines (memory section, id 5) at
 * `maxPages`: a memory with no maximum gets this one, a larger maximum is
 * lowered (never below the memory's minimum, which the module needs to
 * start). memory.grow past it then fails inside the guest (returns -1), as
 * on a machine with no more memory. Imported memories are left alone (their
 * definer is capped); shared and 64-bit memories are left as they are.
 */
export function withMemoryMax(core: Uint8Array, maxPages: number): Uint8Array {
  const parts: Uint8Array[] = [core.subarray(0, 8)];
  let changed = false;
  for (const s of sections(core)) {
    if (s.id !== 5) {
      parts.push(core.subarray(s.start, s.end));
      continue;
    }
    let [count, p] = readLeb128(core, s.body);
    const out: number[] = leb128(count);
    for (let i = 0; i < count; i++) {
      const flags = core[p++]!;
      const [min, afterMin] = readLeb128(core, p);
      p = afterMin;
      let max: number | undefined;
      if (flags & 1) [max, p] = readLeb128(core, p);
      if (flags > 1) {
        // shared or 64-bit: copied as it is
        out.push(flags, ...leb128(min));
        if (max !== undefined) out.push(...leb128(max));
        continue;
      }
      const capped = Math.max(min, Math.min(max ?? Infinity, maxPages));
      out.push(1, ...leb128(min), ...leb128(capped));
      changed = true;
    }
    parts.push(Uint8Array.from([5, ...leb128(out.length), ...out]));
  }
  return changed ? concat(parts) : core;
}

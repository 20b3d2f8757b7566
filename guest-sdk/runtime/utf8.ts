// UTF-8 for the guest: QuickJS as componentize-qjs builds it has no
// TextEncoder/TextDecoder. Loops over char codes are the fastest form in an
// interpreter.

/** Bytes `s` takes in UTF-8 (lone surrogates count as U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) (n += 4), i++;
    else n += 3;
  }
  return n;
}

/** Writes `s` into `out` at `pos`; returns the position after it. */
export function utf8Write(s: string, out: Uint8Array, pos: number): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) out[pos++] = c;
    else if (c < 0x800) {
      out[pos++] = 0xc0 | (c >> 6);
      out[pos++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
        out[pos++] = 0xf0 | (c >> 18);
        out[pos++] = 0x80 | ((c >> 12) & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
        out[pos++] = 0xe0 | (c >> 12);
      }
      out[pos++] = 0x80 | ((c >> 6) & 0x3f);
      out[pos++] = 0x80 | (c & 0x3f);
    }
  }
  return pos;
}

/** Bytes decoded per native String.fromCharCode call (QuickJS takes up to 65535 arguments). */
const CHUNK = 16384;
const NON_ASCII = /[^\x00-\x7f]/;
const fromCharCodes = String.fromCharCode as unknown as { apply(self: null, codes: ArrayLike<number>): string };
const escape = (globalThis as unknown as { escape(s: string): string }).escape;

/**
 * Decodes UTF-8 in `b` from `pos` to `end`. Time is proportional to the
 * bytes, and all of it in native code: each chunk becomes a string of its
 * bytes in one call; an ASCII chunk is that string, any other is turned
 * from UTF-8 by `decodeURIComponent(escape(...))`. The chunks are joined
 * once. (Building the string a character at a time cost seconds per
 * 10 MiB in QuickJS; this is ~35 ns a byte, measured.)
 */
export function utf8Read(b: Uint8Array, pos: number, end: number): string {
  if (end - pos <= 64) return utf8ReadSmall(b, pos, end);
  const parts: string[] = [];
  while (pos < end) {
    let stop = Math.min(end, pos + CHUNK);
    // never split a multi-byte sequence: end the chunk before its continuation bytes
    while (stop < end && stop > pos + 3 && (b[stop]! & 0xc0) === 0x80) stop--;
    const bytes = fromCharCodes.apply(null, b.subarray(pos, stop));
    if (!NON_ASCII.test(bytes)) parts.push(bytes);
    else {
      let text: string;
      try {
        text = decodeURIComponent(escape(bytes));
      } catch {
        text = utf8ReadSmall(b, pos, stop); // not valid UTF-8: decoded as before, byte by byte
      }
      parts.push(text);
    }
    pos = stop;
  }
  return parts.length === 1 ? parts[0]! : parts.join("");
}

function utf8ReadSmall(b: Uint8Array, pos: number, end: number): string {
  let s = "";
  while (pos < end) {
    const c = b[pos++]!;
    if (c < 0x80) s += String.fromCharCode(c);
    else if (c < 0xe0) s += String.fromCharCode(((c & 0x1f) << 6) | (b[pos++]! & 0x3f));
    else if (c < 0xf0) s += String.fromCharCode(((c & 0x0f) << 12) | ((b[pos++]! & 0x3f) << 6) | (b[pos++]! & 0x3f));
    else {
      const cp = (((c & 0x07) << 18) | ((b[pos++]! & 0x3f) << 12) | ((b[pos++]! & 0x3f) << 6) | (b[pos++]! & 0x3f)) - 0x10000;
      s += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    }
  }
  return s;
}

export function utf8Encode(s: string): Uint8Array {
  const out = new Uint8Array(utf8Length(s));
  utf8Write(s, out, 0);
  return out;
}

/**
 * Copies that stay fast when shared memory is misaligned.
 *
 * V8 copies into or out of a SharedArrayBuffer word by word only when the
 * source and the destination lie at the same offset modulo 8; otherwise it
 * copies byte by byte, at about a fifth of the speed (3.5 against 18 GB/s on
 * the 2-core VM). wray's copies cross shared memory at arbitrary offsets: a
 * MessagePack header in front of an object's bytes, argument pieces laid
 * end to end in guest memory. A large misaligned copy goes through a small
 * private buffer instead: shared memory to it at the same alignment, and
 * between private buffers, where alignment costs nothing (memmove).
 */

/** Below this a misaligned copy is left to `set`: the bounce's two copies would cost more than they save. */
const BOUNCE_MIN = 64 << 10;
/** The bounce buffer's size: stays in cache between its two copies. */
const CHUNK = 256 << 10;

let bounce: Uint8Array | undefined;
let bounce2: Uint8Array | undefined;

function isShared(a: Uint8Array): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** A CHUNK-byte window of `buf` that lies at `residue` modulo 8. */
function window(buf: Uint8Array, residue: number): Uint8Array {
  const at = (residue - (buf.byteOffset & 7) + 8) & 7;
  return buf.subarray(at, at + CHUNK);
}

/** Copies `src` into `dst` at `offset`, as `dst.set(src, offset)` does, fast at any alignment. */
export function copyInto(dst: Uint8Array, src: Uint8Array, offset = 0): void {
  const n = src.length;
  const srcRes = src.byteOffset & 7;
  const dstRes = (dst.byteOffset + offset) & 7;
  if (n < BOUNCE_MIN || srcRes === dstRes || (!isShared(src) && !isShared(dst))) {
    dst.set(src, offset);
    return;
  }
  if (offset < 0 || offset + n > dst.length) throw new RangeError(`copyInto: ${n} bytes at ${offset} do not fit in ${dst.length}`);
  bounce ??= new Uint8Array(CHUNK + 8);
  // shared to private at the source's alignment; private to shared at the destination's
  const a = isShared(src) ? window(bounce, srcRes) : undefined;
  const b = isShared(dst) ? window((bounce2 ??= new Uint8Array(CHUNK + 8)), dstRes) : undefined;
  for (let at = 0; at < n; at += CHUNK) {
    const len = Math.min(CHUNK, n - at);
    let piece = src.subarray(at, at + len);
    if (a) {
      const w = a.subarray(0, len);
      w.set(piece);
      piece = w;
    }
    if (b) {
      const w = b.subarray(0, len);
      w.set(piece);
      piece = w;
    }
    dst.set(piece, offset + at);
  }
}

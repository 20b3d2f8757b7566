/**
 * A bump allocator for small byte strings. Every `slice()` of a typed array
 * makes a new ArrayBuffer, whose backing store and GC bookkeeping cost more
 * than the bytes; at a hundred thousand small values a second that was a
 * large share of the host's garbage-collection time. Small copies here are
 * views into shared 64 KiB slabs instead: a slab lives while any view of it
 * does, so at worst a long-lived small value keeps its slab (64 KiB).
 */
const SLAB_BYTES = 64 * 1024;
/** Larger copies get a buffer of their own. */
const MAX_SLAB_COPY = 4 * 1024;

export class ByteSlab {
  #buf = new Uint8Array(SLAB_BYTES);
  #pos = 0;

  /** A copy of `src[start, end)` that the caller owns (it is never reused). */
  copy(src: Uint8Array, start = 0, end = src.length): Uint8Array {
    const n = end - start;
    if (n > MAX_SLAB_COPY) return src.slice(start, end);
    let at = this.#pos;
    if (at + n > SLAB_BYTES) {
      this.#buf = new Uint8Array(SLAB_BYTES);
      at = 0;
    }
    const buf = this.#buf;
    if (n <= 16) for (let i = 0; i < n; i++) buf[at + i] = src[start + i]!;
    else buf.set(src.subarray(start, end), at);
    // keep copies 8-aligned so that a view of one can back aligned typed arrays
    this.#pos = (at + n + 7) & ~7;
    return buf.subarray(at, at + n);
  }
}

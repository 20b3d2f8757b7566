import assert from "node:assert/strict";
import { test } from "node:test";
import { copyInto } from "../../common/copy.js";

function filled(n: number, shared: boolean, seed: number): Uint8Array {
  const b = new Uint8Array(shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

test("copyInto copies exactly what set would, at every alignment, shared or private, above and below the bounce size", () => {
  for (const n of [1000, (64 << 10) + 3, (256 << 10) * 2 + 77]) {
    for (const srcShared of [false, true]) {
      for (const dstShared of [false, true]) {
        for (let s = 0; s < 8; s++) {
          for (const d of [0, 1, 3, 4, 7]) {
            const src = filled(n + 16, srcShared, 1).subarray(s, s + n);
            const dst = filled(n + 32, dstShared, 2);
            const want = dst.slice();
            want.set(src, d + 5);
            copyInto(dst, src, d + 5);
            assert.ok(Buffer.from(dst).equals(Buffer.from(want)), `${n} bytes, source ${srcShared ? "shared" : "private"} at ${s}, destination ${dstShared ? "shared" : "private"} at ${d + 5}`);
          }
        }
      }
    }
  }
  assert.throws(() => copyInto(new Uint8Array(new SharedArrayBuffer(100 << 10)), new Uint8Array(100 << 10).subarray(1), 2), RangeError, "a copy past the end is refused");
});

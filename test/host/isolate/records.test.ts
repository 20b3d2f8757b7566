// Every record of the isolate channel (host/isolate/records.ts) written and
// read back with the one layout both sides use, at an unaligned-to-the-
// record offset, with nothing written past its declared size.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToKey, makeTaskId } from "../../../common/ids.js";
import type { Layout } from "../../../host/isolate/records.js";
import * as R from "../../../host/isolate/records.js";
import type { Piece, PieceView } from "../../../host/isolate/protocol.js";
import { GPU_DISPATCH, GPU_FROM_BYTES, PIECE_INLINE, STATUS_FAILED, STATUS_OK, readPiece } from "../../../host/isolate/protocol.js";

const OFFSET = 12;
const GUARD = 0xa5;

/** Writes `r` at OFFSET in a guarded buffer, checks the size is exact, reads it back. */
function roundTrip<W, X>(layout: Layout<W, X>, r: W): { out: X; b: Uint8Array } {
  const size = layout.size(r);
  assert.equal(size % 4, 0, "records keep 4-byte alignment");
  const b = new Uint8Array(OFFSET + size + 16).fill(GUARD);
  const dv = new DataView(b.buffer);
  layout.write(dv, b, OFFSET, r);
  assert.ok(b.subarray(0, OFFSET).every((x) => x === GUARD), "nothing written before the record");
  assert.ok(b.subarray(OFFSET + size).every((x) => x === GUARD), "nothing written past its size");
  return { out: layout.read(dv, b, OFFSET, size), b };
}

/** A piece read back, as the bytes or arena location it names. */
function pieceOf(b: Uint8Array, p: PieceView): Piece {
  return p.arena ? { seg: p.a, off: p.b, len: p.len } : b.slice(p.a, p.a + p.len);
}

const id = makeTaskId(0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10);
const bytes = (...xs: number[]) => Uint8Array.from(xs);
const inline = bytes(0x93, 1, 2, 3, 4);
const arena: Piece = { seg: 3, off: 4096, len: 1 << 20 };
const text = (s: string) => new TextEncoder().encode(s);
const objectId = (n: number) => new Uint8Array(20).fill(n);

test("T_TASK and R_RUN: header, name and pieces", () => {
  for (const layout of [R.TASK, R.RUN] as Layout<R.TaskRecord, R.TaskHeader>[]) {
    const rt: { out: R.TaskHeader; b: Uint8Array } = roundTrip(layout, { slot: 7, component: 2, kind: 1, numReturns: 3, taskId: id, name: text("add"), pieces: [inline, arena] });
    const { out, b } = rt;
    assert.deepEqual([out.slot, out.component, out.kind, out.numReturns], [7, 2, 1, 3]);
    assert.equal(out.taskId.key, id.key);
    assert.deepEqual(out.name, text("add"));
    assert.equal(out.argsTotal, inline.length + arena.len);
    assert.equal(out.nPieces, 2);
    const p: PieceView = { arena: false, a: 0, b: 0, len: 0 };
    const dv = new DataView(b.buffer);
    let at = readPiece(dv, out.piecesAt, p);
    assert.deepEqual(pieceOf(b, p), inline);
    at = readPiece(dv, at, p);
    assert.deepEqual(pieceOf(b, p), arena);
  }
});

test("E_RESULT: values, a failure's detail, and the one-inline-value fast path", () => {
  const ok = roundTrip(R.RESULT, { slot: 4, status: STATUS_OK, ms: 1.25, values: [inline, arena], detail: undefined });
  assert.deepEqual([ok.out.slot, ok.out.status, ok.out.ms, ok.out.detail], [4, STATUS_OK, 1.25, undefined]);
  assert.deepEqual(ok.out.values!.map((v) => pieceOf(ok.b, v)), [inline, arena]);
  const failed = roundTrip(R.RESULT, { slot: 9, status: STATUS_FAILED, ms: 0.5, values: undefined, detail: text("boom") });
  assert.deepEqual([failed.out.slot, failed.out.status, failed.out.values], [9, STATUS_FAILED, undefined]);
  assert.deepEqual(failed.out.detail, text("boom"));
  // the fast path writes what the general layout reads
  const value = bytes(1, 2, 3);
  const size = R.resultOneInlineSize(value.length);
  assert.equal(size, R.RESULT.size({ slot: 0, status: STATUS_OK, ms: 0, values: [value], detail: undefined }));
  const b = new Uint8Array(OFFSET + size);
  const dv = new DataView(b.buffer);
  R.writeResultOneInline(dv, b, OFFSET, 5, 2.5, value);
  const fast = R.RESULT.read(dv, b, OFFSET, size);
  assert.deepEqual([fast.slot, fast.status, fast.ms], [5, STATUS_OK, 2.5]);
  assert.equal(fast.values![0]!.arena, false);
  assert.deepEqual(pieceOf(b, fast.values![0]!), value);
  assert.equal(new DataView(b.buffer).getUint32(OFFSET + 20, true), PIECE_INLINE);
});

test("E_SUBMIT", () => {
  const { out, b } = roundTrip(R.SUBMIT, { parentSlot: 3, numReturns: 2, taskId: id, name: text("fib"), args: inline, options: bytes(0x80) });
  assert.deepEqual([out.parentSlot, out.numReturns, out.taskId.key], [3, 2, id.key]);
  assert.deepEqual(out.name, text("fib"));
  assert.deepEqual(pieceOf(b, out.args), inline);
  assert.deepEqual(out.options, bytes(0x80));
});

test("E_CREATE_ACTOR", () => {
  const { out, b } = roundTrip(R.CREATE_ACTOR, { parentSlot: 1, actorId: id, name: text("Counter"), args: arena, options: new Uint8Array(0) });
  assert.deepEqual([out.parentSlot, out.actorId.key], [1, id.key]);
  assert.deepEqual(out.name, text("Counter"));
  assert.deepEqual(pieceOf(b, out.args), arena);
  assert.equal(out.options.length, 0);
});

test("E_CALL_ACTOR, and an actor ID of the wrong length sent as zeros", () => {
  const actor = new Uint8Array(16).fill(0x42);
  const { out, b } = roundTrip(R.CALL_ACTOR, { parentSlot: 2, numReturns: 1, taskId: id, actor, name: text("incr"), args: inline, options: bytes(0x81, 0xa1, 0x61, 1) });
  assert.deepEqual([out.parentSlot, out.numReturns, out.taskId.key], [2, 1, id.key]);
  assert.deepEqual(out.actor, actor);
  assert.equal(out.actorKey, bytesToKey(actor, 0, 16));
  assert.deepEqual(out.name, text("incr"));
  assert.deepEqual(pieceOf(b, out.args), inline);
  assert.deepEqual(out.options, bytes(0x81, 0xa1, 0x61, 1));
  const bad = roundTrip(R.CALL_ACTOR, { parentSlot: 2, numReturns: 1, taskId: id, actor: bytes(1, 2), name: text("m"), args: inline, options: new Uint8Array(0) });
  assert.deepEqual(bad.out.actor, new Uint8Array(16));
});

test("E_GET and E_WAIT: object IDs come back as keys", () => {
  const ids = [objectId(1), objectId(2), objectId(3)];
  const get = roundTrip(R.GET, { slot: 6, timeoutMs: 250, ids });
  assert.deepEqual([get.out.slot, get.out.timeoutMs], [6, 250]);
  assert.deepEqual(get.out.ids, ids.map((x) => bytesToKey(x, 0, 20)));
  const none = roundTrip(R.GET, { slot: 0, timeoutMs: -1, ids: [] });
  assert.deepEqual([none.out.timeoutMs, none.out.ids], [-1, []]);
  const wait = roundTrip(R.WAIT, { slot: 8, numReturns: 2, timeoutMs: 0, ids });
  assert.deepEqual([wait.out.slot, wait.out.numReturns, wait.out.timeoutMs], [8, 2, 0]);
  assert.deepEqual(wait.out.ids, ids.map((x) => bytesToKey(x, 0, 20)));
});

test("E_PUT, E_LOG, E_ALLOC, E_RESUME, E_LOADED, E_GET_ACTOR", () => {
  const put = roundTrip(R.PUT, { slot: 1, index: 0x80000001, value: arena });
  assert.deepEqual([put.out.slot, put.out.index], [1, 0x80000001]);
  assert.deepEqual(pieceOf(put.b, put.out.value), arena);
  const log = roundTrip(R.LOG, { slot: 2, level: 3, message: text("hello\nworld") });
  assert.deepEqual([log.out.slot, log.out.level], [2, 3]);
  assert.deepEqual(log.out.message, text("hello\nworld"));
  assert.deepEqual(roundTrip(R.ALLOC, { length: 123456, slot: 5, lead: 59 }).out, { length: 123456, slot: 5, lead: 59 });
  assert.deepEqual(roundTrip(R.RESUME, { slot: 11 }).out, { slot: 11 });
  for (const ok of [true, false]) {
    const loaded = roundTrip(R.LOADED, { component: 4, ok, message: text(ok ? "" : "bad wasm") });
    assert.deepEqual([loaded.out.component, loaded.out.ok], [4, ok]);
    assert.deepEqual(loaded.out.message, text(ok ? "" : "bad wasm"));
  }
  const ga = roundTrip(R.GET_ACTOR, { slot: 3, name: text("counter-1") });
  assert.equal(ga.out.slot, 3);
  assert.deepEqual(ga.out.name, text("counter-1"));
});

test("E_DEFER and E_RESOLVE: an actor method's deferred result and its resolution", () => {
  for (const value of [inline, arena]) {
    const d = roundTrip(R.DEFER, { slot: 7, timeoutMs: 2500.5, value });
    assert.deepEqual([d.out.slot, d.out.timeoutMs], [7, 2500.5]);
    assert.deepEqual(pieceOf(d.b, d.out.value), value);
    const r = roundTrip(R.RESOLVE, { slot: 9, id: objectId(4), value });
    assert.deepEqual([r.out.slot, r.out.id], [9, bytesToKey(objectId(4), 0, 20)]);
    assert.deepEqual(pieceOf(r.b, r.out.value), value);
  }
  assert.equal(roundTrip(R.DEFER, { slot: 1, timeoutMs: -1, value: inline }).out.timeoutMs, -1);
});

test("E_GPU with each payload layout", () => {
  const fixed = roundTrip(R.gpuCall<never>(undefined), { slot: 2, op: 0, a: 1, b: 2, n1: 3.5, n2: 1e12, payload: undefined });
  assert.deepEqual([fixed.out.slot, fixed.out.op, fixed.out.a, fixed.out.b, fixed.out.n1, fixed.out.n2], [2, 0, 1, 2, 3.5, 1e12]);
  assert.equal(fixed.out.payload!.length, 0);
  const up = roundTrip(R.gpuCall(R.GPU_UPLOAD), { slot: 1, op: GPU_FROM_BYTES, a: 0, b: 0, n1: 0, n2: 0, payload: inline });
  assert.deepEqual(pieceOf(up.out.payload!, R.readPayload(R.GPU_UPLOAD, up.out.payload!)), inline);
  const obj = roundTrip(R.gpuCall(R.GPU_OBJECT_ID), { slot: 1, op: 3, a: 0, b: 0, n1: 0, n2: 0, payload: objectId(9) });
  assert.deepEqual(R.readPayload(R.GPU_OBJECT_ID, obj.out.payload!), objectId(9));
  const src = roundTrip(R.gpuCall(R.GPU_SOURCE), { slot: 1, op: 5, a: 0, b: 0, n1: 0, n2: 0, payload: { wgsl: text("@compute fn main() {}"), entryPoint: text("main") } });
  const s = R.readPayload(R.GPU_SOURCE, src.out.payload!);
  assert.deepEqual([s.wgsl, s.entryPoint], [text("@compute fn main() {}"), text("main")]);
  const grid = roundTrip(R.gpuCall(R.GPU_GRID), { slot: 1, op: GPU_DISPATCH, a: 7, b: 3, n1: 0, n2: 0, payload: { x: 64, y: 2, z: 1, bindings: Uint32Array.of(4, 5, 6) } });
  assert.deepEqual(R.readPayload(R.GPU_GRID, grid.out.payload!), { x: 64, y: 2, z: 1, bindings: [4, 5, 6] });
  const idx = roundTrip(R.gpuCall(R.GPU_PUT_INDEX), { slot: 1, op: 8, a: 0, b: 0, n1: 0, n2: 0, payload: 0x80000002 });
  assert.equal(R.readPayload(R.GPU_PUT_INDEX, idx.out.payload!), 0x80000002);
});

test("replies: R_VALUES, R_FAILURE, R_INDICES, R_ALLOC, R_ACTOR, R_GPU, and the header", () => {
  const values = roundTrip(R.VALUES, [inline, arena, new Uint8Array(0)]);
  assert.deepEqual(values.out.map((v) => pieceOf(values.b, v)), [inline, arena, new Uint8Array(0)]);
  assert.deepEqual(roundTrip(R.FAILURE, text("lost")).out, text("lost"));
  assert.deepEqual(roundTrip(R.INDICES, [0, 2, 5]).out, [0, 2, 5]);
  assert.deepEqual(roundTrip(R.INDICES, []).out, []);
  assert.deepEqual(roundTrip(R.ALLOCATED, { seg: 2, off: 640 }).out, { seg: 2, off: 640 });
  const actor = new Uint8Array(16).fill(7);
  assert.deepEqual(roundTrip(R.ACTOR, actor).out, actor);
  assert.equal(roundTrip(R.ACTOR, undefined).out, undefined);
  const gpu = roundTrip(R.GPU_REPLY, { code: 0xffffffff, value: 12, piece: text("adapter") });
  assert.deepEqual([gpu.out.code, gpu.out.value], [0xffffffff, 12]);
  assert.deepEqual(pieceOf(gpu.b, gpu.out.piece), text("adapter"));
  const h = new DataView(new ArrayBuffer(R.REPLY_HEADER));
  R.writeReplyHeader(h, R.VALUES.type, 96);
  assert.deepEqual(R.readReplyHeader(h), { kind: R.VALUES.type, length: 96 });
});

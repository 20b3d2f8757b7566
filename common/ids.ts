/**
 * Task and object IDs.
 *
 * IDs are deterministic so that lost objects can be rebuilt from lineage
 * later: a task's ID is a 128-bit hash of its parent's ID and its
 * submission index under that parent, and an object's ID is its task's ID
 * followed by a little-endian u32 index (returns count from 1, puts carry
 * the PUT_INDEX_FLAG bit). Guests and the wire see the 20 raw bytes.
 *
 * On the host an ID travels as a *key*: the bytes packed two per UTF-16
 * code unit (10 units for an object, 8 for a task). Keys are the cheapest
 * strings to build and to hash in a Map — about 3x cheaper than hex, which
 * matters at a million tasks — and `keyToHex` gives the usual hex form
 * for people.
 */
export const TASK_ID_BYTES = 16;
export const OBJECT_ID_BYTES = 20;
export const TASK_KEY_LENGTH = TASK_ID_BYTES / 2;
export const OBJECT_KEY_LENGTH = OBJECT_ID_BYTES / 2;
/** Set in the index of objects made by `put`, clear for task returns. */
export const PUT_INDEX_FLAG = 0x8000_0000;

/** A task ID as four u32 words (the 16 bytes, little-endian) and its key. */
export interface TaskId {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly key: string;
}

export function makeTaskId(w0: number, w1: number, w2: number, w3: number): TaskId {
  w0 >>>= 0;
  w1 >>>= 0;
  w2 >>>= 0;
  w3 >>>= 0;
  return {
    w0,
    w1,
    w2,
    w3,
    key: String.fromCharCode(w0 & 0xffff, w0 >>> 16, w1 & 0xffff, w1 >>> 16, w2 & 0xffff, w2 >>> 16, w3 & 0xffff, w3 >>> 16),
  };
}

/** A fresh random task ID: the root of a driver's task tree. */
export function randomTaskId(): TaskId {
  const w = new Uint32Array(4);
  crypto.getRandomValues(w);
  return makeTaskId(w[0]!, w[1]!, w[2]!, w[3]!);
}

// murmur3's 32-bit mixing steps; four lanes with different seeds give 128
// bits. Not cryptographic: IDs only need to be unique, not unforgeable.
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= 20;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function lane(seed: number, p: TaskId, index: number): number {
  let h = seed;
  h = mixK(h, p.w0);
  h = mixK(h, p.w1);
  h = mixK(h, p.w2);
  h = mixK(h, p.w3);
  h = mixK(h, index);
  return fmix(h);
}

/** The ID of the `index`-th task submitted by task `parent` (index from 0). */
export function childTaskId(parent: TaskId, index: number): TaskId {
  return makeTaskId(
    lane(0x9e3779b9, parent, index),
    lane(0x85ebca6b, parent, index),
    lane(0xc2b2ae35, parent, index),
    lane(0x27d4eb2f, parent, index),
  );
}

/** The key of return `index` (from 1), or put `index | PUT_INDEX_FLAG`, of a task. */
export function objectKey(task: TaskId, index: number): string {
  return task.key + String.fromCharCode(index & 0xffff, index >>> 16);
}

/** The task part of an object key. */
export function taskKeyOfObject(objectKey: string): string {
  return objectKey.slice(0, TASK_KEY_LENGTH);
}

/** Whether an object key names a put (PUT_INDEX_FLAG), not a task's return. */
export function isPutKey(objectKey: string): boolean {
  return (objectKey.charCodeAt(TASK_KEY_LENGTH + 1) & (PUT_INDEX_FLAG >>> 16)) !== 0;
}

/** Packs `length` bytes (even) of `b` from `offset` into a key. */
export function bytesToKey(b: Uint8Array, offset = 0, length = OBJECT_ID_BYTES): string {
  let s = "";
  for (let i = offset; i < offset + length; i += 2) s += String.fromCharCode(b[i]! | (b[i + 1]! << 8));
  return s;
}

/** Unpacks a key into bytes (written into `out` at `offset` if given). */
export function keyToBytes(key: string, out = new Uint8Array(key.length * 2), offset = 0): Uint8Array {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    out[offset + 2 * i] = c & 0xff;
    out[offset + 2 * i + 1] = c >>> 8;
  }
  return out;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function bytesToHex(b: Uint8Array, offset = 0, length = b.length - offset): string {
  let s = "";
  for (let i = offset; i < offset + length; i++) s += HEX[b[i]!]!;
  return s;
}

/** The usual hex form of an ID (its bytes in order). */
export function keyToHex(key: string): string {
  let s = "";
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    s += HEX[c & 0xff]! + HEX[c >>> 8]!;
  }
  return s;
}

export function hexToKey(hex: string): string {
  if (hex.length % 4 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError(`not an ID in hex: ${hex}`);
  let s = "";
  for (let i = 0; i < hex.length; i += 4) s += String.fromCharCode(parseInt(hex.substr(i, 2), 16) | (parseInt(hex.substr(i + 2, 2), 16) << 8));
  return s;
}

/** The TaskId of a task key (8 UTF-16 units, as made by makeTaskId). */
export function taskIdFromKey(key: string): TaskId {
  if (key.length !== TASK_KEY_LENGTH) throw new RangeError(`a task key has ${TASK_KEY_LENGTH} units, got ${key.length}`);
  const u = (i: number) => key.charCodeAt(i);
  return makeTaskId(u(0) | (u(1) << 16), u(2) | (u(3) << 16), u(4) | (u(5) << 16), u(6) | (u(7) << 16));
}

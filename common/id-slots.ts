/**
 * Numbered slots found by task ID, with no string and no object per ID:
 * each slot's ID is four u32 words in `ids`, and an open-addressing hash
 * table (linear probing, at most half full, backward-shift deletion)
 * maps an ID to its slot. The task table (common/task-events.ts) folds
 * hundreds of thousands of events a second into these on the head; a Map
 * keyed by each event's ID as a string cost it two to five times as much,
 * and garbage besides.
 *
 * The owner numbers the slots (0..capacity-1) and says which are in use;
 * IDs are hashes already (common/ids.ts), so two of their words, mixed
 * once, spread over the table.
 */
import { keyToHex, makeTaskId, taskIdFromKey } from "./ids.js";

export class IdSlots {
  /** Slot `s`'s ID: words `4s..4s+3`. */
  ids: Uint32Array;
  /** slot + 1 by hash; 0 is empty. */
  #table: Int32Array;
  #mask: number;

  constructor(capacity = 0) {
    this.ids = new Uint32Array(capacity * 4);
    const size = tableSize(capacity);
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
  }

  /** Slots there are room for. */
  get capacity(): number {
    return this.ids.length >> 2;
  }

  /** The slot holding this ID, or -1. */
  find(w0: number, w1: number, w2: number, w3: number): number {
    const t = this.#table;
    const ids = this.ids;
    const mask = this.#mask;
    for (let i = home(w0, w3, mask); ; i = (i + 1) & mask) {
      const s = t[i]! - 1;
      if (s < 0) return -1;
      const j = s << 2;
      if (ids[j] === w0 && ids[j + 1] === w1 && ids[j + 2] === w2 && ids[j + 3] === w3) return s;
    }
  }

  /** The slot holding the ID of a task key (common/ids.ts), or -1. */
  findKey(key: string): number {
    const id = taskIdFromKey(key);
    return this.find(id.w0, id.w1, id.w2, id.w3);
  }

  /** Puts this ID in slot `slot` (not in the index now; the ID not in another slot). */
  add(slot: number, w0: number, w1: number, w2: number, w3: number): void {
    const j = slot << 2;
    const ids = this.ids;
    ids[j] = w0;
    ids[j + 1] = w1;
    ids[j + 2] = w2;
    ids[j + 3] = w3;
    const t = this.#table;
    const mask = this.#mask;
    let i = home(w0, w3, mask);
    while (t[i] !== 0) i = (i + 1) & mask;
    t[i] = slot + 1;
  }

  /** Takes slot `slot`'s ID out of the index (the slot must be in it). */
  remove(slot: number): void {
    const t = this.#table;
    const ids = this.ids;
    const mask = this.#mask;
    const j = slot << 2;
    let i = home(ids[j]!, ids[j + 3]!, mask);
    while (t[i] !== slot + 1) i = (i + 1) & mask;
    t[i] = 0;
    // backward shift: an entry after the hole moves into it unless its home lies cyclically in (hole, entry]
    for (let k = (i + 1) & mask; t[k] !== 0; k = (k + 1) & mask) {
      const s = t[k]! - 1;
      const h = home(ids[s << 2]!, ids[(s << 2) + 3]!, mask);
      const stays = i <= k ? h > i && h <= k : h > i || h <= k;
      if (stays) continue;
      t[i] = t[k]!;
      t[k] = 0;
      i = k;
    }
  }

  /** Room for `capacity` slots, keeping slots `0..used-1` (those `inIndex` says are in the index: all, without it). */
  grow(capacity: number, used: number, inIndex?: (slot: number) => boolean): void {
    const ids = new Uint32Array(capacity * 4);
    ids.set(this.ids.subarray(0, used * 4));
    this.ids = ids;
    const size = tableSize(capacity);
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
    for (let s = 0; s < used; s++) {
      if (inIndex && !inIndex(s)) continue;
      const j = s << 2;
      this.add(s, ids[j]!, ids[j + 1]!, ids[j + 2]!, ids[j + 3]!);
    }
  }

  /** Takes every ID out of the index. */
  clear(): void {
    this.#table.fill(0);
  }

  /** Slot `slot`'s ID as 32 hex digits. */
  hex(slot: number): string {
    const ids = this.ids;
    const j = slot << 2;
    return keyToHex(makeTaskId(ids[j]!, ids[j + 1]!, ids[j + 2]!, ids[j + 3]!).key);
  }
}

/** A power of two at least twice `capacity` (so the table stays at most half full). */
function tableSize(capacity: number): number {
  let size = 8;
  while (size < capacity * 2) size *= 2;
  return size;
}

function home(w0: number, w3: number, mask: number): number {
  const h = Math.imul(w0 ^ w3, 0x9e3779b1);
  return (h ^ (h >>> 15)) & mask;
}

// IdSlots (common/id-slots.ts): slots found by 128-bit ID through an
// open-addressing table, checked against a Map through random adds,
// removals (backward shifts), growth and clearing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { IdSlots } from "../../common/id-slots.js";
import { keyToHex, randomTaskId } from "../../common/ids.js";

test("IdSlots finds what a Map finds through random adds, removes, growth and clearing", () => {
  const slots = new IdSlots(16);
  const model = new Map<number, [number, number, number, number]>(); // slot -> ID
  let cap = 16;
  // IDs that share their hash words collide on purpose: probes and shifts get exercised
  const idOf = (i: number): [number, number, number, number] => (i % 3 === 0 ? [7, i, i * 31, 9] : [randomTaskId().w0, i, 5, randomTaskId().w3]);
  let next = 0;
  const check = () => {
    for (const [slot, id] of model) assert.equal(slots.find(...id), slot, `slot ${slot}`);
    assert.equal(slots.find(1, 2, 3, 4), -1);
  };
  for (let step = 0; step < 20_000; step++) {
    const free = [...Array(cap).keys()].filter((s) => !model.has(s));
    const r = (step * 2654435761) % 100;
    if (r < 55 && free.length > 0) {
      const slot = free[step % free.length]!;
      const id = idOf(next++);
      slots.add(slot, ...id);
      model.set(slot, id);
    } else if (r < 95 && model.size > 0) {
      const slot = [...model.keys()][step % model.size]!;
      slots.remove(slot);
      model.delete(slot);
    } else if (r < 99 && cap < 1024) {
      // growth keeps slots 0..used-1 that are in the index
      const used = cap;
      cap *= 2;
      slots.grow(cap, used, (s) => model.has(s));
    } else if (r >= 99) {
      slots.clear();
      model.clear();
    }
    if (step % 97 === 0) check();
  }
  check();
});

test("an IdSlots slot's ID reads back as its hex and is found by its key", () => {
  const slots = new IdSlots(4);
  const id = randomTaskId();
  slots.add(2, id.w0, id.w1, id.w2, id.w3);
  assert.equal(slots.hex(2), keyToHex(id.key));
  assert.equal(slots.findKey(id.key), 2);
  slots.remove(2);
  assert.equal(slots.findKey(id.key), -1);
});

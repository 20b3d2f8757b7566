import assert from "node:assert/strict";
import { test } from "node:test";
import { ChannelMemory, RECORD_HEADER, hostEnds, isolateEnds } from "../../../host/isolate/channel.js";

test("records cross the ring in order, across wrap-around, until it is full", () => {
  const m = ChannelMemory.create({ toIsolate: 4096, toHost: 4096, reply: 64 });
  const { tasks: w } = hostEnds(m);
  const { tasks: r } = isolateEnds(m);
  let sent = 0;
  let got = 0;
  for (let round = 0; round < 200; round++) {
    // write records of varying sizes until the ring refuses one
    for (;;) {
      const len = 1 + ((sent * 37) % 300);
      const at = w.begin(7, len);
      if (at < 0) break;
      w.bytes.fill(sent & 0xff, at, at + len);
      w.commit();
      sent++;
    }
    assert.ok(w.free() < 4096);
    // read half of them back
    const n = Math.max(1, (sent - got) >> 1);
    for (let i = 0; i < n; i++) {
      const type = r.next();
      assert.equal(type, 7);
      const len = 1 + ((got * 37) % 300);
      assert.equal(r.length, len);
      assert.ok(r.bytes.subarray(r.at, r.at + len).every((x) => x === (got & 0xff)));
      got++;
    }
    r.release();
  }
  while (r.next() >= 0) got++;
  r.release();
  assert.equal(got, sent);
  assert.ok(w.drained());
  assert.equal(w.free(), 4096);
});

test("a record larger than half the ring is refused outright", () => {
  const m = ChannelMemory.create({ toIsolate: 4096, toHost: 4096, reply: 64 });
  const { tasks: w } = hostEnds(m);
  assert.equal(w.maxPayload, 2048 - RECORD_HEADER);
  assert.throws(() => w.begin(1, 3000), RangeError);
  assert.throws(() => ChannelMemory.create({ toIsolate: 5000, toHost: 4096, reply: 64 }), RangeError);
});

test("unread records can be discarded while the reader is blocked", () => {
  const m = ChannelMemory.create({ toIsolate: 4096, toHost: 4096, reply: 64 });
  const { tasks: w } = hostEnds(m);
  const { tasks: r } = isolateEnds(m);
  for (let i = 0; i < 3; i++) w.write(1, Uint8Array.of(i));
  assert.equal(r.next(), 1);
  r.release();
  w.discardUnread();
  r.resync();
  assert.equal(r.next(), -1);
  w.write(2, Uint8Array.of(9));
  assert.equal(r.next(), 2);
  assert.equal(r.bytes[r.at], 9);
});

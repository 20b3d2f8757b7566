/**
 * One conformance suite for every control-store backend: the sharded
 * LevelDB store itself (1 and 4 shards) and the client over the
 * in-process and the ws transport.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Connection, Transport } from "../../net/index.js";
import { InprocTransport, MSG, WsTransport } from "../../net/index.js";
import type { ControlStore } from "../../store/control/index.js";
import { ControlStoreService, RemoteControlStore, ShardedControlStore, channelOf, shardOf } from "../../store/control/index.js";
import { tempDir } from "../temp.js";

interface Backend {
  store: ControlStore;
  /** Opens another client on the same data (for cross-client pub/sub), where the backend has clients. */
  another(): Promise<ControlStore>;
  close(): Promise<void>;
}

async function local(shards: number): Promise<Backend> {
  const dir = await tempDir();
  const store = await ShardedControlStore.open({ directory: dir.path, shards });
  return {
    store,
    another: async () => store,
    close: async () => {
      await store.close();
      await dir.remove();
    },
  };
}

async function remote(transport: Transport): Promise<Backend> {
  const dir = await tempDir();
  const inner = await ShardedControlStore.open({ directory: dir.path, shards: 2 });
  const service = new ControlStoreService(inner);
  const listener = await transport.listen({ token: "t" }, (conn) => {
    conn.handler = (m, c) => {
      const r = service.handle(m, c);
      if (!r) throw new Error("not a control store message");
      return r.value;
    };
  });
  const conns: Connection[] = [];
  const client = async () => {
    const conn = await transport.connect(listener.address, "t");
    conns.push(conn);
    const store = new RemoteControlStore(conn);
    conn.handler = (m) => {
      if (m.type === MSG.GCS_EVENT) store.event(m.body as never);
    };
    return store;
  };
  return {
    store: await client(),
    another: client,
    close: async () => {
      for (const c of conns) c.close();
      await listener.close();
      await inner.close();
      await dir.remove();
    },
  };
}

function until(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => (cond() ? resolve() : Date.now() > deadline ? reject(new Error("timed out")) : setTimeout(tick, 2));
    tick();
  });
}

function controlStoreSuite(name: string, open: () => Promise<Backend>): void {
  test(`${name}: get, put, delete, with values of every MessagePack kind`, async () => {
    const b = await open();
    try {
      const s = b.store;
      assert.equal(await s.get("nodes", "missing"), undefined);
      const value = { n: 1, f: 1.5, s: "x", b: true, nil: null, arr: [1, [2]], bin: Uint8Array.of(1, 2, 3), big: new Uint8Array(300_000).fill(7) };
      await s.put("nodes", "a", value);
      const got = (await s.get<typeof value>("nodes", "a"))!;
      assert.deepEqual({ ...got, bin: [...got.bin], big: got.big.length }, { ...value, bin: [1, 2, 3], big: 300_000 });
      assert.equal(got.big[299_999], 7);
      await s.put("nodes", "a", 2);
      assert.equal(await s.get("nodes", "a"), 2, "the last write wins");
      assert.equal(await s.get("objects", "a"), undefined, "tables are apart");
      await s.delete("nodes", "a");
      assert.equal(await s.get("nodes", "a"), undefined);
      await s.delete("nodes", "never-there");
    } finally {
      await b.close();
    }
  });

  test(`${name}: reads see writes made just before, without waiting for them`, async () => {
    const b = await open();
    try {
      const s = b.store;
      const writes = Array.from({ length: 500 }, (_, i) => s.put("tasks", `k${i}`, i));
      assert.equal(await s.get("tasks", "k499"), 499);
      await Promise.all(writes);
    } finally {
      await b.close();
    }
  });

  test(`${name}: a read while a write's batch is going to LevelDB sees that write`, async () => {
    // the head's object table: a node records an object, a reader subscribes and then reads; a read
    // that missed a batch in progress (and the event sent before it subscribed) waited forever
    const b = await open();
    try {
      const s = b.store;
      const missed: number[] = [];
      for (let i = 0; i < 300; i++) {
        const w = s.put("objects", `o${i}`, i);
        await new Promise((r) => setImmediate(r)); // the batch holding it has started
        if ((await s.get("objects", `o${i}`)) !== i) missed.push(i);
        await w;
      }
      assert.deepEqual(missed, [], `${missed.length} of 300 reads made during a commit missed its write`);
    } finally {
      await b.close();
    }
  });

  test(`${name}: scan returns a table's keys with a prefix, in order`, async () => {
    const b = await open();
    try {
      const s = b.store;
      await Promise.all(["b2", "a1", "b1", "c", "b10"].map((k, i) => s.put("objects", k, i)));
      await s.put("actors", "b3", "other table");
      assert.deepEqual(await s.scan("objects", "b"), [
        ["b1", 2],
        ["b10", 4],
        ["b2", 0],
      ]);
      assert.equal((await s.scan("objects")).length, 5);
      assert.deepEqual(await s.scan("functions"), []);
    } finally {
      await b.close();
    }
  });

  test(`${name}: subscribers to a table and to a key hear every change, until they unsubscribe`, async () => {
    const b = await open();
    try {
      const writer = await b.another();
      const s = b.store;
      const table: [string, unknown][] = [];
      const key: [string, unknown][] = [];
      const offTable = s.subscribe(channelOf("nodes"), (k, v) => table.push([k, v]));
      const offKey = s.subscribe(channelOf("nodes", "n1"), (k, v) => key.push([k, v]));
      await s.get("nodes", "sync"); // the subscriptions are in place once a later request is answered
      await writer.put("nodes", "n1", { alive: true });
      await writer.put("nodes", "n2", { alive: true });
      await writer.delete("nodes", "n1");
      await until(() => table.length === 3 && key.length === 2);
      assert.deepEqual(table, [
        ["n1", { alive: true }],
        ["n2", { alive: true }],
        ["n1", undefined],
      ]);
      assert.deepEqual(key, [
        ["n1", { alive: true }],
        ["n1", undefined],
      ]);
      offTable();
      offKey();
      await s.get("nodes", "sync");
      await writer.put("nodes", "n1", 1);
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(table.length, 3);
      assert.equal(key.length, 2);
    } finally {
      await b.close();
    }
  });

  test(`${name}: bad tables, keys and values are TypeErrors`, async () => {
    const b = await open();
    try {
      const s = b.store;
      await assert.rejects(s.get("nope" as never, "k"), TypeError);
      await assert.rejects(s.put("nodes", 5 as never, 1), TypeError);
      await assert.rejects(s.put("nodes", "k", undefined), TypeError);
    } finally {
      await b.close();
    }
  });
}

controlStoreSuite("1 shard", () => local(1));
controlStoreSuite("4 shards", () => local(4));
controlStoreSuite("client, in-process transport", () => remote(new InprocTransport()));
controlStoreSuite("client, ws transport", () => remote(new WsTransport()));

test("keys spread over shards, and the data survives a reopen", async () => {
  const dir = await tempDir();
  try {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOf("tasks", `task-${i}`, 4)]!++;
    for (const c of counts) assert.ok(c > 800 && c < 1200, `uneven shards: ${counts}`);
    let s = await ShardedControlStore.open({ directory: dir.path, shards: 4 });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => s.put("tasks", `task-${i}`, { i })));
    assert.ok(s.stats().every((x) => x.writes > 0));
    await s.close();
    s = await ShardedControlStore.open({ directory: dir.path, shards: 4 });
    assert.deepEqual(await s.get("tasks", "task-999"), { i: 999 });
    assert.equal((await s.scan("tasks")).length, 1000);
    await s.close();
  } finally {
    await dir.remove();
  }
});

test("a shard count out of range is a RangeError", async () => {
  await assert.rejects(ShardedControlStore.open({ directory: "/tmp/unused", shards: 0 }), RangeError);
});

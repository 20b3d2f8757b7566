import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import type { Connection, Message, Transport } from "../../net/index.js";
import { ChunkReply, ConnectionClosedError, InprocTransport, MSG, RemoteError, TOKEN_HEADER, UnauthorizedError, WsTransport, advertisedAddress } from "../../net/index.js";

const TOKEN = "s3cret-token";

/** A server that echoes REPLYs to GCS_GET requests and fails GCS_DELETE. */
async function echoServer(t: Transport, log: string[]) {
  const seen: Message[] = [];
  const listener = await t.listen({ token: TOKEN, log: (l) => log.push(l) }, (conn) => {
    conn.handler = (m) => {
      seen.push(m);
      if (m.type === MSG.GCS_DELETE) throw Object.assign(new Error("no such key"), { code: "WRAY_NOPE" });
      if (m.type === MSG.GCS_SCAN) return new Promise((r) => setTimeout(() => r("later"), 5));
      return m.body;
    };
  });
  return { listener, seen };
}

for (const [name, make] of [
  ["in-process", () => new InprocTransport()],
  ["ws", () => new WsTransport()],
] as [string, () => Transport][]) {
  test(`${name}: requests get their replies, failures come back as RemoteError`, async () => {
    const t = make();
    const log: string[] = [];
    const { listener, seen } = await echoServer(t, log);
    const c = await t.connect(listener.address, TOKEN);
    try {
      assert.deepEqual(await c.request(MSG.GCS_GET, { table: "a", key: "b" }), { table: "a", key: "b" });
      assert.equal(await c.request(MSG.GCS_SCAN, { table: "a", prefix: "" }), "later");
      await assert.rejects(c.request(MSG.GCS_DELETE, { table: "a", key: "b" }), (e: unknown) => e instanceof RemoteError && e.remoteCode === "WRAY_NOPE" && /no such key/.test(e.message));
      // many requests in one turn: answered, in few frames
      const before = c.framesOut;
      const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.request(MSG.GCS_GET, { table: "t", key: String(i) })));
      assert.deepEqual(
        replies.map((r) => (r as { key: string }).key),
        Array.from({ length: 1000 }, (_, i) => String(i)),
      );
      assert.ok(c.framesOut - before <= 2, `1000 requests went out in ${c.framesOut - before} frames`);
      c.notify(MSG.GCS_UNSUBSCRIBE, { channel: "x" });
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(seen.some((m) => m.type === MSG.GCS_UNSUBSCRIBE && m.id === 0));
    } finally {
      c.close();
      await listener.close();
    }
  });

  test(`${name}: a chunk reply arrives as one { size, data } reply, in order with the messages around it`, async () => {
    const t = make();
    const data = new Uint8Array(3 << 20).map((_, i) => (i * 13) & 255);
    let done = 0;
    const listener = await t.listen({ token: TOKEN }, (conn) => {
      conn.handler = (m) => {
        const k = (m.body as { key: string }).key;
        return k === "chunk" ? new ChunkReply(10 << 20, data.subarray(1 << 20), () => done++) : k;
      };
    });
    const c = await t.connect(listener.address, TOKEN);
    try {
      const order: string[] = [];
      const [a, chunk, b] = await Promise.all(
        ["a", "chunk", "b"].map((key) =>
          c.request(MSG.GCS_GET, { table: "t", key }).then((r) => {
            order.push(key);
            return r;
          }),
        ),
      );
      assert.deepEqual([a, b, order], ["a", "b", ["a", "chunk", "b"]]);
      const got = chunk as { size: number; data: Uint8Array };
      assert.equal(got.size, 10 << 20);
      assert.ok(Buffer.from(got.data).equals(data.subarray(1 << 20)));
      for (let i = 0; i < 100 && done === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(done, 1, "the sender learns when the bytes are written");
    } finally {
      c.close();
      await listener.close();
    }
  });

  test(`${name}: a peer without the token is refused and logged; others are unaffected`, async () => {
    const t = make();
    const log: string[] = [];
    const { listener } = await echoServer(t, log);
    const good = await t.connect(listener.address, TOKEN);
    try {
      await assert.rejects(t.connect(listener.address, "wrong"), UnauthorizedError);
      await assert.rejects(t.connect(listener.address, ""), UnauthorizedError);
      assert.ok(log.some((l) => /refused/.test(l)), log.join("\n"));
      assert.equal(await good.request(MSG.GCS_GET, { table: "a", key: "still" }).then((r) => (r as { key: string }).key), "still");
    } finally {
      good.close();
      await listener.close();
    }
  });

  test(`${name}: requests in flight fail with ConnectionClosedError when the peer goes`, async () => {
    const t = make();
    const listener = await t.listen({ token: TOKEN }, (conn) => {
      conn.handler = () => new Promise(() => {}); // never answers
    });
    const c = await t.connect(listener.address, TOKEN);
    const p = c.request(MSG.GCS_GET, { table: "a", key: "b" });
    await new Promise((r) => setTimeout(r, 10));
    await listener.close();
    await assert.rejects(p, ConnectionClosedError);
    await assert.rejects(c.request(MSG.GCS_GET, { table: "a", key: "b" }), ConnectionClosedError);
    assert.ok(c.isClosed);
  });

  test(`${name}: a request times out when asked to`, async () => {
    const t = make();
    const listener = await t.listen({ token: TOKEN }, (conn) => {
      conn.handler = () => new Promise(() => {});
    });
    const c = await t.connect(listener.address, TOKEN);
    try {
      await assert.rejects(c.request(MSG.GCS_GET, { table: "a", key: "b" }, 30), /within 30 ms/);
    } finally {
      c.close();
      await listener.close();
    }
  });

  test(`${name}: bulk senders see back-pressure and drain`, async () => {
    const t = make();
    let received = 0;
    const listener = await t.listen({ token: TOKEN }, (conn) => {
      conn.handler = (m) => {
        received += (m.body as { value: Uint8Array }).value.length;
      };
    });
    const c = await t.connect(listener.address, TOKEN);
    try {
      const chunk = new Uint8Array(4 << 20);
      let sawCongestion = false;
      for (let i = 0; i < 16; i++) {
        c.notify(MSG.GCS_PUT, { table: "bulk", key: String(i), value: chunk });
        if (c.congested) {
          sawCongestion = true;
          await c.drain();
          assert.ok(!c.congested);
        }
      }
      assert.ok(sawCongestion, "64 MiB written in one go must congest a 16 MiB window");
      const deadline = Date.now() + 10_000;
      while (received < 16 * chunk.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(received, 16 * chunk.length);
    } finally {
      c.close();
      await listener.close();
    }
  });
}

test("ws: garbage and text frames close only the connection that sent them, and are logged", async () => {
  const t = new WsTransport();
  const log: string[] = [];
  const { listener } = await echoServer(t, log);
  const good = await t.connect(listener.address, TOKEN);
  try {
    for (const payload of [Buffer.from([0xc1, 0xff, 0x00]), "hello", Buffer.from([0x93, 0x01, 0x01])]) {
      const raw = new WebSocket(listener.address, { headers: { [TOKEN_HEADER]: TOKEN } });
      await new Promise((r, j) => {
        raw.once("open", r);
        raw.once("error", j);
      });
      const closed = new Promise<number>((r) => raw.once("close", (code) => r(code)));
      raw.send(payload, { binary: typeof payload !== "string" });
      assert.ok([1002, 1003, 1007, 1008].includes(await closed));
    }
    assert.equal(log.filter((l) => /closing the connection/.test(l)).length, 3, log.join("\n"));
    assert.deepEqual(await good.request(MSG.GCS_GET, { table: "ok", key: "1" }), { table: "ok", key: "1" });
  } finally {
    good.close();
    await listener.close();
  }
});

test("ws: a connection to nothing fails with a clear error", async () => {
  await assert.rejects(new WsTransport().connect("ws://127.0.0.1:1", TOKEN), /cannot connect to ws:\/\/127.0.0.1:1/);
  await assert.rejects(new WsTransport().connect("not a url", TOKEN), TypeError);
});

void (null as unknown as Connection);

test("a server listening on every interface is advertised at an address that reaches it", () => {
  const lo = { address: "127.0.0.1", netmask: "255.0.0.0", family: "IPv4", mac: "00:00:00:00:00:00", internal: true, cidr: "127.0.0.1/8" } as const;
  const eth = { address: "10.1.2.3", netmask: "255.255.255.0", family: "IPv4", mac: "02:00:00:00:00:01", internal: false, cidr: "10.1.2.3/24" } as const;
  const v6 = { address: "fe80::1", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "02:00:00:00:00:01", internal: false, cidr: "fe80::1/64", scopeid: 2 } as const;
  assert.equal(advertisedAddress("0.0.0.0", 6380, { lo: [lo], eth0: [v6, eth] }), "ws://10.1.2.3:6380");
  assert.equal(advertisedAddress("::", 6380, { lo: [lo], eth0: [eth] }), "ws://10.1.2.3:6380");
  assert.equal(advertisedAddress("0.0.0.0", 6380, { lo: [lo] }), "ws://127.0.0.1:6380", "a machine with no network: loopback");
  assert.equal(advertisedAddress("127.0.0.2", 7000), "ws://127.0.0.2:7000");
  assert.equal(advertisedAddress("::1", 7000), "ws://[::1]:7000");
});

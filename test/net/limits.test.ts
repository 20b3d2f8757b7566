/**
 * What a WebSocket server bounds (net/guard.ts): attacked over loopback —
 * silent TCP connections, floods of bad tokens, stalled half-frames, too
 * many connections — and still serving a well-behaved client after.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import type { Socket } from "node:net";
import { test } from "node:test";
import WebSocket from "ws";
import type { ConnectionLimits } from "../../net/index.js";
import { ConnectionFailedError, MSG, TOKEN_HEADER, WsTransport, clearTextWarning, isLoopback } from "../../net/index.js";
import { FrameBudget, RefusalLog } from "../../net/guard.js";
import { tempDir } from "../temp.js";
import { selfSigned } from "../tls.js";

const TOKEN = "limits-token";

/** A server answering GCS_GET with its body; its log lines kept. */
async function server(limits: ConnectionLimits, transport = new WsTransport({ limits })) {
  const log: string[] = [];
  const listener = await transport.listen({ token: TOKEN, log: (l) => log.push(l) }, (conn) => {
    conn.handler = (m) => m.body;
  });
  const port = Number(/:(\d+)$/.exec(listener.address)![1]);
  return { listener, log, port };
}

/** Resolves when `s` closes, or rejects naming `what` after `ms`. */
function closed(s: Socket, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s.destroyed) return resolve();
    const t = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms);
    s.once("close", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
}

async function stillServes(address: string): Promise<void> {
  const c = await new WsTransport().connect(address, TOKEN);
  try {
    assert.deepEqual(await c.request(MSG.GCS_GET, { table: "t", key: "k" }, 10_000), { table: "t", key: "k" });
  } finally {
    c.close();
  }
}

test("connections that never finish the handshake are dropped at the deadline; past the per-address cap they are refused at once", async () => {
  // a deadline a loaded machine's own good handshakes still meet
  const s = await server({ handshakeMs: 2000, perAddress: 20, total: 100, logEveryMs: 60_000 });
  const socks: Socket[] = [];
  try {
    for (let i = 0; i < 30; i++) socks.push(await open(s.port));
    // all 30 go: 10 refused at once (cap 20 from one address), 20 at the 2 s deadline
    await Promise.all(socks.map((x, i) => closed(x, 10_000, `silent connection ${i}`)));
    await stillServes(s.listener.address);
    const lines = s.log.filter((l) => /refused/.test(l));
    assert.ok(lines.length <= 3, `refusals are logged once per kind, then counted:\n${lines.join("\n")}`);
    assert.ok(lines.some((l) => /no WebSocket handshake within 2000 ms/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /has its most connections open \(20\)/.test(l)), lines.join("\n"));
  } finally {
    for (const x of socks) x.destroy();
    await s.listener.close();
  }
  // close logs what it counted
  assert.ok(s.log.some((l) => /refused \d+ more connection\(s\) from 1 address\(es\)/.test(l)), s.log.join("\n"));
});

test("2,000 connections with a wrong token cost a few log lines, not 2,000", async () => {
  // caps out of the way: this test is about the log (a round's sockets may still be closing when the next opens)
  const s = await server({ logEveryMs: 60_000, perAddress: 10_000, total: 10_000 });
  try {
    const bad = new WsTransport();
    for (let round = 0; round < 40; round++) {
      await Promise.all(Array.from({ length: 50 }, () => bad.connect(s.listener.address, "wrong").then(() => assert.fail("admitted"), () => {})));
    }
    await stillServes(s.listener.address);
    assert.equal(s.log.filter((l) => /refused/.test(l)).length, 1, s.log.join("\n"));
  } finally {
    await s.listener.close();
  }
  const summary = s.log.find((l) => /refused 1999 more connection/.test(l));
  assert.ok(summary && /1999 wrong or missing cluster token/.test(summary), s.log.join("\n"));
});

/** An authenticated raw client that sends the start of a `size`-byte binary frame, `sent` bytes of it, and stops. */
async function halfFrame(address: string, size: number, sent: number): Promise<WebSocket> {
  const ws = new WebSocket(address, { headers: { [TOKEN_HEADER]: TOKEN } });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const header = Buffer.alloc(14);
  header[0] = 0x82; // FIN, binary
  header[1] = 0x80 | 127; // masked, 64-bit length
  header.writeBigUInt64BE(BigInt(size), 2);
  // mask key 0: the payload is sent as is
  const socket = (ws as unknown as { _socket: Socket })._socket;
  socket.write(header);
  socket.write(Buffer.alloc(sent, 7));
  return ws;
}

function wsClosed(ws: WebSocket, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    const t = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms);
    ws.once("close", () => {
      clearTimeout(t);
      resolve();
    });
    ws.on("error", () => {});
  });
}

test("half-sent frames: past the budget the connection holding the most is closed, and a stalled frame closes its connection", async () => {
  const s = await server({ partialBytes: 8 << 20, frameStallMs: 3000, logEveryMs: 60_000 });
  const clients: WebSocket[] = [];
  try {
    clients.push(await halfFrame(s.listener.address, 32 << 20, 2 << 20));
    clients.push(await halfFrame(s.listener.address, 32 << 20, 5 << 20));
    clients.push(await halfFrame(s.listener.address, 32 << 20, 3 << 20)); // 10 MiB in all: over 8
    // one is closed for the budget (the one holding the most when it was passed), the others when their frames stall
    for (const [i, c] of clients.entries()) await wsClosed(c, 20_000, `half-frame client ${i}`);
    assert.ok(s.log.some((l) => /frames received in part over all connections passed 8 MiB; this connection held the most \([\d.]+ MiB\)/.test(l)), s.log.join("\n"));
    assert.ok(s.log.some((l) => /a frame stopped arriving for \d+ ms/.test(l)), s.log.join("\n"));
    await stillServes(s.listener.address);
  } finally {
    for (const c of clients) c.terminate();
    await s.listener.close();
  }
});

test("a server without a token is refused; refusals and budgets as plain objects", async () => {
  await assert.rejects(new WsTransport().listen({ token: "" }, () => {}), /needs a cluster token/);
  const lines: string[] = [];
  const r = new RefusalLog((l) => lines.push(l), 60_000);
  for (let i = 0; i < 5; i++) r.refuse(`127.0.0.${i % 2}:1000`, "bad");
  r.refuse("127.0.0.9:1", "other");
  r.close();
  assert.deepEqual(lines, [
    "(wray) refused a connection from 127.0.0.0:1000: bad (more refusals are counted, logged every 60 s)",
    "(wray) refused a connection from 127.0.0.9:1: other (more refusals are counted, logged every 60 s)",
    "(wray) refused 4 more connection(s) from 2 address(es): 4 bad",
  ]);
  const b = new FrameBudget(100, 1000);
  const t = performance.now();
  const dropped: string[] = [];
  const mk = (name: string) => ({ pending: 0, lastData: 0, drop: () => dropped.push(name) });
  const [x, y] = [mk("x"), mk("y")];
  b.add(x);
  b.add(y);
  b.data(x, 60, t);
  b.whole(x); // a whole frame releases its bytes
  b.data(x, 30, t);
  b.data(y, 60, t);
  assert.deepEqual(dropped, []);
  b.data(x, 20, t); // 110 > 100: y holds the most
  assert.deepEqual(dropped, ["y"]);
  b.sweep(t + 1400);
  assert.deepEqual(dropped, ["y", "x"], "x's frame stalled");
  b.close();
  // a sweep that comes late (this process was stopped) restarts the clocks rather than blaming the peers
  const p = new FrameBudget(100, 1000);
  const z = mk("z");
  p.add(z);
  p.data(z, 10, t);
  p.sweep(t + 60_000);
  assert.deepEqual(dropped, ["y", "x"], "z was not dropped for this process's pause");
  p.sweep(t + 61_200);
  assert.deepEqual(dropped, ["y", "x", "z"], "z stalled after the pause");
  p.close();
  assert.ok(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost"));
  assert.ok(isLoopback("::ffff:127.0.0.1") && isLoopback("127.1.2.3"));
  assert.ok(!isLoopback("0.0.0.0") && !isLoopback("10.0.0.1") && !isLoopback("::") && !isLoopback("128.0.0.1"));
  // what a server listening beyond loopback in clear logs (tests listen on loopback only, so the rule is checked here)
  assert.match(clearTextWarning("0.0.0.0", 6380, false)!, /WARNING: listening on 0\.0\.0\.0:6380 without TLS: the cluster token and all data cross the network in clear/);
  assert.equal(clearTextWarning("0.0.0.0", 6380, true), undefined);
  assert.equal(clearTextWarning("127.0.0.1", 6380, false), undefined);
});

test("TLS: a wss:// server is reached with its CA; without it, or over ws://, not at all", async () => {
  const dir = await tempDir();
  try {
    const files = selfSigned(dir.path);
    const pem = { cert: readFileSync(files.cert, "utf8"), key: readFileSync(files.key, "utf8") };
    const s = await server({}, new WsTransport({ tls: pem }));
    try {
      assert.match(s.listener.address, /^wss:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(!s.log.some((l) => /WARNING/.test(l)), "loopback: no warning");
      const c = await new WsTransport({ tls: { ca: pem.cert } }).connect(s.listener.address, TOKEN);
      assert.deepEqual(await c.request(MSG.GCS_GET, { table: "t", key: "tls" }, 10_000), { table: "t", key: "tls" });
      c.close();
      // a client that does not trust the certificate, and one that speaks plain ws://
      await assert.rejects(new WsTransport().connect(s.listener.address, TOKEN), (e: unknown) => e instanceof ConnectionFailedError && /self[- ]signed/i.test(e.message));
      await assert.rejects(new WsTransport().connect(s.listener.address.replace("wss:", "ws:"), TOKEN));
    } finally {
      await s.listener.close();
    }
    assert.throws(() => new WsTransport({ tls: { cert: pem.cert } }), /both a certificate and its key/);
  } finally {
    await dir.remove();
  }
});

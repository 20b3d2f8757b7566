// Attacks a real head (wray start --head --block) as issue 18 did: 500 silent TCP
// connections, 2,000 upgrades with a wrong token, 20 stalled half-frames; prints what
// the head did. `node bench/attacks.mjs [ROOT]` (ROOT: a built checkout, default this one).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { fileURLToPath } from "node:url";
const root = process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url));
const home = mkdtempSync(join(tmpdir(), "wray-probe-"));
const logFile = join(home, "head.log");
const { openSync } = await import("node:fs");
const fd = openSync(logFile, "a");
const head = spawn(process.execPath, [join(root, "dist/cli.js"), "start", "--head", "--port", "0", "--num-cpus", "1", "--block"], { env: { ...process.env, WRAY_HOME: home }, stdio: ["ignore", fd, fd] });
let address;
for (let i = 0; i < 600 && !address; i++) {
  await new Promise((r) => setTimeout(r, 100));
  address = /wray head started at (ws:\/\/\S+)/.exec(readFileSync(logFile, "utf8"))?.[1];
}
const port = Number(address.split(":").pop());
const token = readFileSync(join(home, "token"), "utf8").trim();
const rss = () => Number(readFileSync(`/proc/${head.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const logBytes = () => statSync(logFile).size;
console.log(`head at ${address}, rss ${rss().toFixed(0)} MiB`);
// 1. 500 silent TCP connections
const socks = await Promise.all(Array.from({ length: 500 }, () => new Promise((res) => { const s = connect(port, "127.0.0.1", () => res(s)); s.on("error", () => res(s)); })));
let closedN = 0;
for (const s of socks) s.on("close", () => closedN++);
await new Promise((r) => setTimeout(r, 6000));
console.log(`silent: ${closedN} of 500 closed by the head after 6 s`);
for (const s of socks) s.destroy();
// 2. 2000 bad-token upgrades
const log0 = logBytes();
for (let round = 0; round < 40; round++) {
  await Promise.all(Array.from({ length: 50 }, () => new Promise((res) => { const ws = new WebSocket(address, { headers: { "x-wray-token": "wrong" } }); ws.on("unexpected-response", (_q, r) => { r.resume(); res(); }); ws.on("error", () => res()); ws.on("open", () => { ws.close(); res(); }); })));
}
await new Promise((r) => setTimeout(r, 500));
console.log(`bad tokens: 2000 refused, log grew ${logBytes() - log0} bytes`);
// 3. 20 stalled half-frames of 16 MiB each (the issue: 313 MiB added)
const r0 = rss();
const halves = [];
for (let i = 0; i < 20; i++) {
  const ws = new WebSocket(address, { headers: { "x-wray-token": token } });
  await new Promise((res, rej) => { ws.once("open", res); ws.once("error", rej); });
  ws.on("error", () => {});
  const h = Buffer.alloc(14); h[0] = 0x82; h[1] = 0x80 | 127; h.writeBigUInt64BE(BigInt(60 << 20), 2);
  ws._socket.write(h); ws._socket.write(Buffer.alloc(16 << 20, 1));
  halves.push(ws);
}
await new Promise((r) => setTimeout(r, 3000));
const open3 = halves.filter((w) => w.readyState === WebSocket.OPEN).length;
console.log(`half-frames: rss +${(rss() - r0).toFixed(0)} MiB after 3 s, ${open3} of 20 still open`);
await new Promise((r) => setTimeout(r, 30000));
console.log(`half-frames: ${halves.filter((w) => w.readyState === WebSocket.OPEN).length} of 20 open after 33 s; rss +${(rss() - r0).toFixed(0)} MiB`);
for (const w of halves) w.terminate();
console.log(`head alive: ${head.exitCode === null}; log lines with 'refused': ${readFileSync(logFile, "utf8").split("\n").filter((l) => /refused/.test(l)).length}`);
console.log(readFileSync(logFile, "utf8").split("\n").filter((l) => /refused|closing/.test(l)).slice(0, 8).join("\n"));
head.kill("SIGTERM");
await new Promise((r) => head.once("exit", r));
rmSync(home, { recursive: true, force: true });

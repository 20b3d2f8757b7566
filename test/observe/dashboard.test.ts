/**
 * The dashboard in a real browser: Debian's Chromium (scripts/setup-browser.sh)
 * driven by puppeteer-core, against a real head (with --dashboard-port)
 * and host started as processes, a driver in this process. The page
 * refuses without the token; signed in, it shows both nodes, a failing
 * task with its guest error and stack, an actor's log line; a screenshot
 * of the overview is written and is not blank. /metrics is checked for
 * the series the issue lists.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { inflateSync } from "node:zlib";
import puppeteer from "puppeteer-core";
import type { Driver } from "wray";
import { init } from "wray";
import { startCluster, until } from "../cluster.js";
import { guest } from "../helpers.js";

const TEST_MS = 240_000;

// what the functions passed to page.evaluate see (they run in the page, not here)
interface PageElement {
  textContent: string | null;
}
declare const document: { body: { innerText: string }; querySelector(s: string): PageElement | null; querySelectorAll(s: string): Iterable<PageElement> };
declare const sessionStorage: { setItem(k: string, v: string): void };

function chromium(): string {
  for (const c of [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) if (c && existsSync(c)) return c;
  throw new Error("no Chromium: scripts/setup-browser.sh installs Debian's (npm test runs it), or set CHROMIUM");
}

/** The share of a PNG's pixel bytes that are not the first pixel's: 0 for a blank image. */
function nonBlank(png: Uint8Array): number {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  while (at < png.length) {
    const len = dv.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") {
      width = new DataView(data.buffer, data.byteOffset).getUint32(0);
      height = new DataView(data.buffer, data.byteOffset).getUint32(4);
      assert.equal(data[8], 8, "8-bit samples");
    }
    if (type === "IDAT") idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = raw.length / height; // filter byte + width * bytes per pixel
  const bpp = (stride - 1) / width;
  // undo the filters of each scanline (PNG's five), then compare pixels
  const px = new Uint8Array(width * height * bpp);
  for (let y = 0; y < height; y++) {
    const f = raw[y * stride]!;
    for (let x = 0; x < width * bpp; x++) {
      const cur = raw[y * stride + 1 + x]!;
      const a = x >= bpp ? px[y * width * bpp + x - bpp]! : 0;
      const b = y > 0 ? px[(y - 1) * width * bpp + x]! : 0;
      const c = x >= bpp && y > 0 ? px[(y - 1) * width * bpp + x - bpp]! : 0;
      const p = a + b - c;
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      px[y * width * bpp + x] = (cur + pred) & 0xff;
    }
  }
  let differ = 0;
  for (let i = 0; i < px.length; i += bpp) if (px[i] !== px[0] || px[i + 1] !== px[1] || px[i + 2] !== px[2]) differ++;
  return differ / (width * height);
}

test("dashboard in Chromium: refused without the token; signed in it shows both nodes, a failing task with its guest error, an actor's log line; a screenshot; /metrics", { timeout: TEST_MS }, async () => {
  const cluster = await startCluster({ heartbeatMs: 300, headArgs: ["--num-cpus", "0", "--dashboard-port", "0"], hosts: [["--num-cpus", "2", "--metrics-port", "0"]] });
  let ray: Driver | undefined;
  let browser: Awaited<ReturnType<typeof puppeteer.launch>> | undefined;
  try {
    const url = /dashboard: (http:\/\/\S+)/.exec(cluster.head.output())?.[1];
    assert.ok(url, `the head says where its dashboard is:\n${cluster.head.output()}`);
    // refused without the token
    assert.equal((await fetch(`${url}/api/status`)).status, 401);
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    assert.equal((await fetch(`${url}/api/status`, { headers: { authorization: "Bearer not-the-token" } })).status, 401);

    ray = await init({ address: cluster.address, token: cluster.token, log: () => {} });
    const errs = await ray.load(guest("errors"));
    const utils = await ray.load(guest("utils"));
    const bad = errs.fn("fail").remote("the dashboard should show this");
    await assert.rejects(ray.get(bad));
    const w = utils.actor("Worker").remote();
    await ray.get(w.shout!.remote("hello from the actor"));
    const taskId = bad.hex.slice(0, 32);

    browser = await puppeteer.launch({ executablePath: chromium(), headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    page.setDefaultTimeout(60_000);
    await page.goto(`${url}/`);
    assert.match(page.url(), /\/login$/, "the page sends a browser without the token to sign in");
    await page.type("input[name=token]", "wrong");
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    assert.ok(await page.$("#login-failed"), "a wrong token is refused");
    await page.type("input[name=token]", cluster.token);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    assert.match(page.url(), /\/$/);

    // the overview: both nodes (the head's and the host's), live
    await page.waitForFunction(() => /2 alive/.test(document.querySelector("#card-nodes")?.textContent ?? ""));
    await page.waitForFunction(() => /1 alive/.test(document.querySelector("#card-actors")?.textContent ?? ""));
    const text = await page.evaluate(() => document.body.innerText);
    assert.ok(text.includes(cluster.hosts[0]!.nodeId) && text.includes(cluster.head.nodeId), "both nodes are listed");
    const shot = join(cluster.home, "overview.png");
    const png = await page.screenshot({ path: shot, fullPage: false });
    assert.ok(existsSync(shot));
    assert.ok(nonBlank(new Uint8Array(png)) > 0.02, "the screenshot is not blank");
    if (process.env.WRAY_DASHBOARD_PNG) writeFileSync(process.env.WRAY_DASHBOARD_PNG, readFileSync(shot));

    // the failing task, with its guest error and stack
    await page.evaluate(() => sessionStorage.setItem("state", "failed"));
    await until(async () => {
      await page.goto(`${url}/#tasks`);
      return page.evaluate((id) => document.body.innerText.includes(id.slice(0, 16)), taskId);
    }, 60_000, "the failed task to show in the tasks view");
    assert.match(await page.evaluate(() => document.body.innerText), /TypeError: the dashboard should show this/);
    await page.goto(`${url}/#task/${taskId}`);
    await page.waitForSelector("#guest-stack");
    assert.match(await page.$eval("#guest-stack", (e) => e.textContent ?? ""), /index\.ts:\d+/);

    // the actor's log line
    await until(async () => {
      await page.goto(`${url}/#logs`);
      await page.waitForSelector("main table");
      return page.evaluate(() => [...document.querySelectorAll(".log-line")].some((e) => e.textContent === "hello from the actor"));
    }, 60_000, "the actor's log line to show in the logs view");
    assert.match(await page.evaluate(() => document.body.innerText), /Worker\.shout/);

    // metrics, with the token
    const m = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${cluster.token}` } })).text();
    for (const series of ["wray_tasks_total", "wray_tasks{", "wray_scheduler_queue_depth", "wray_isolates{", 'wray_object_store_bytes{kind="inline"}', 'kind="shared"', 'kind="pinned"', 'kind="spilled"', "wray_spill_bytes_total", "wray_actors{", "wray_wire_bytes_total", "wray_wire_messages_total", "wray_heartbeat_age_seconds{", "wray_nodes{", "wray_task_events_total"]) {
      assert.ok(m.includes(series), `/metrics has ${series}`);
    }
    // every line is a comment or `name{labels} value`
    for (const line of m.split("\n").filter((l) => l && !l.startsWith("#"))) assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.e+-]+|NaN)$/, line);
    // the host's own metrics (--metrics-port): its tasks, behind the token too
    const hostMetrics = /metrics: {3}(http:\/\/\S+)\/metrics/.exec(cluster.hosts[0]!.output())?.[1];
    assert.ok(hostMetrics, `the host says where its metrics are:\n${cluster.hosts[0]!.output()}`);
    assert.equal((await fetch(`${hostMetrics}/metrics`)).status, 401);
    const hm = await (await fetch(`${hostMetrics}/metrics`, { headers: { authorization: `Bearer ${cluster.token}` } })).text();
    const finished = Number(/^wray_tasks_total\{state="finished"\} (\d+)/m.exec(hm)?.[1]);
    assert.ok(finished >= 1, `the host counts the tasks it ran:\n${hm.slice(0, 500)}`);
    assert.equal((await fetch(`${hostMetrics}/api/status`, { headers: { authorization: `Bearer ${cluster.token}` } })).status, 404, "a host serves only /metrics");
    // the objects view lists every node's objects
    await page.goto(`${url}/#objects`);
    await page.waitForFunction(() => /Objects, every node's/.test(document.body.innerText));
  } finally {
    await browser?.close();
    await ray?.shutdown();
    await cluster.stop();
  }
});

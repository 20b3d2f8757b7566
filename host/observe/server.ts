/**
 * The observability server (node:http, off the task path): Prometheus
 * metrics on every node that asks for them (`--metrics-port`), and on the
 * head the dashboard (`--dashboard-port`): the page, its JSON API
 * (/api/status, tasks, task/<id>, actors, objects, logs, timeline) and
 * /api/live, a WebSocket that pushes the cluster's state every second.
 *
 * Access needs the cluster's token, as the cluster's own connections do:
 * `Authorization: Bearer <token>` (Prometheus, scripts), or once in the
 * browser (the login form, or `?token=` on any page) after which a
 * cookie holds a digest of it (HttpOnly, SameSite=Strict; never the token
 * itself). Without it the page sends the browser to /login and the API,
 * metrics and live socket answer 401.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { WebSocketServer } from "ws";
import type { Head } from "../head/index.js";
import { dashboardPage, loginPage } from "./ui.js";

export interface ObserveServerOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (0: any free one). */
  port: number;
  /** The cluster's token. */
  token: string;
  /** What /metrics serves. */
  registry: Registry;
  /** The head, on the head's node: the dashboard and its API are served too. */
  head?: Head;
  /** How often /api/live pushes, ms (default 1000). */
  liveMs?: number;
}

export interface ObserveServer {
  /** http://HOST:PORT */
  readonly url: string;
  close(): Promise<void>;
}

const COOKIE = "wray_session";
/** Request bodies (the login form) past this are refused. */
const MAX_BODY = 16 * 1024;

function digest(token: string): string {
  return createHash("sha256").update(`wray-dashboard\0${token}`).digest("hex");
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === COOKIE) return v.join("=");
  }
  return undefined;
}

export async function startObserveServer(options: ObserveServerOptions): Promise<ObserveServer> {
  const session = digest(options.token);
  const head = options.head;
  const authorized = (req: IncomingMessage): boolean => {
    const auth = req.headers.authorization;
    if (auth?.startsWith("Bearer ") && same(auth.slice(7), options.token)) return true;
    const c = cookieOf(req);
    return c !== undefined && same(c, session);
  };
  const setSession = (res: ServerResponse, location: string) => {
    res.writeHead(303, { location, "set-cookie": `${COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`, "cache-control": "no-store" });
    res.end();
  };
  const json = (res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...extra });
    res.end(JSON.stringify(value));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (path === "/login") {
      if (req.method === "POST") {
        const body = await readBody(req);
        const token = new URLSearchParams(body).get("token") ?? "";
        if (same(token, options.token)) return setSession(res, "/");
        res.writeHead(401, { "content-type": "text/html; charset=utf-8" });
        res.end(loginPage(true));
        return;
      }
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(loginPage(false));
      return;
    }
    const given = url.searchParams.get("token");
    if (given !== null && same(given, options.token)) {
      // once in the address, then a cookie (the token leaves the address bar and history)
      url.searchParams.delete("token");
      return setSession(res, url.pathname + (url.search || ""));
    }
    if (!authorized(req)) {
      if (path === "/" && head) {
        res.writeHead(303, { location: "/login" });
        res.end();
        return;
      }
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Bearer realm="wray"' });
      res.end("the cluster's token is needed (Authorization: Bearer <token>, or sign in at /login)\n");
      return;
    }
    if (path === "/metrics") {
      const text = await options.registry.metrics();
      res.writeHead(200, { "content-type": options.registry.contentType });
      res.end(text);
      return;
    }
    if (!head) return json(res, 404, { error: `this node serves /metrics only (the dashboard is the head's)` });
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'" });
      res.end(dashboardPage());
      return;
    }
    const q = Object.fromEntries(url.searchParams);
    const limit = Math.min(5000, Math.max(1, Number(q.limit) || 100));
    const filter: Record<string, string> = {};
    for (const k of ["state", "name", "node", "job", "kind", "actor", "task", "level", "class"]) if (q[k]) filter[k] = q[k]!;
    switch (path) {
      case "/api/status":
        return json(res, 200, head.status());
      case "/api/tasks":
        return json(res, 200, head.state.tasks.list(filter, limit));
      case "/api/summary":
        return json(res, 200, head.state.tasks.summary());
      case "/api/actors":
        return json(res, 200, await head.state.query({ what: "actors", filter, limit }));
      case "/api/objects": {
        // every node's store (where each object is, its refs and pins), largest first
        const nodes = (await head.state.askNodes(limit)) as { node: string; memory?: { objects: { size: number }[] } }[];
        const rows = nodes.flatMap((n) => (n.memory?.objects ?? []).map((o) => ({ ...o, node: n.node })));
        return json(res, 200, rows.sort((a, b) => b.size - a.size).slice(0, limit));
      }
      case "/api/logs":
        return json(res, 200, head.state.logs(filter, limit, Number(q.since) || 0));
      case "/api/timeline":
        return json(res, 200, q.download ? { traceEvents: head.state.tasks.timeline(), displayTimeUnit: "ms" } : head.state.tasks.timeline(), q.download ? { "content-disposition": 'attachment; filename="trace.json"' } : {});
    }
    if (path.startsWith("/api/task/")) return json(res, 200, head.state.tasks.get(decodeURIComponent(path.slice(10))) ?? null);
    json(res, 404, { error: `no such page: ${path}` });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) json(res, 500, { error: e instanceof Error ? e.message : String(e) });
      else res.end();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  // the live socket: a snapshot every liveMs to each signed-in browser
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  server.on("upgrade", (req, socket, headBytes) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (!head || path !== "/api/live" || !authorized(req)) {
      socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, headBytes, (ws) => wss.emit("connection", ws, req));
  });
  const snapshot = () => JSON.stringify({ status: head!.status(), summary: head!.state.tasks.summary(), logs: head!.state.logs({}, 50) });
  const live = head
    ? setInterval(() => {
        if (wss.clients.size === 0) return;
        const s = snapshot();
        for (const c of wss.clients) if (c.readyState === c.OPEN && c.bufferedAmount < 1 << 20) c.send(s);
      }, options.liveMs ?? 1000)
    : undefined;
  live?.unref();
  wss.on("connection", (ws) => ws.send(snapshot()));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const a = server.address() as AddressInfo;
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}`,
    async close() {
      if (live) clearInterval(live);
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

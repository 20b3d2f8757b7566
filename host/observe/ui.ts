/**
 * The dashboard's page: one HTML document with its script and style
 * inline (served from the package: no CDN, no build step). The script
 * keeps the latest snapshot the server pushes over /api/live and draws
 * the view the hash names: overview, tasks (and one task), actors,
 * objects, logs, timeline. Everything a guest wrote (names, messages,
 * log lines) goes into the page as text, never as markup.
 */

const STYLE = `
:root { --bg: #f6f7f9; --fg: #1d232b; --muted: #667085; --line: #d8dde4; --accent: #2f6fdf; --bad: #c0352b; --ok: #1f8a4c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 18px; align-items: center; padding: 10px 18px; background: #17202c; color: #fff; }
header b { font-size: 16px; letter-spacing: .5px; }
header a { color: #c9d6ea; text-decoration: none; }
header a.on { color: #fff; border-bottom: 2px solid #7fb0ff; }
#live { margin-left: auto; font-size: 12px; color: #9fb3cc; }
main { padding: 16px 18px; }
h2 { font-size: 15px; margin: 18px 0 8px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 220px; }
.card .big { font-size: 22px; font-weight: 600; }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; font-size: 12px; text-transform: uppercase; color: #475467; }
td.mono, .mono { font-family: ui-monospace, monospace; font-size: 12px; }
.state-failed, .state-dead { color: var(--bad); font-weight: 600; }
.state-finished, .state-alive { color: var(--ok); }
.bar { height: 8px; background: #e4e8ee; border-radius: 4px; overflow: hidden; min-width: 120px; }
.bar i { display: block; height: 100%; background: var(--accent); }
pre { background: #fff; border: 1px solid var(--line); padding: 10px; overflow: auto; }
input, select { font: inherit; padding: 3px 6px; }
.filters { display: flex; gap: 8px; margin-bottom: 8px; }
a { color: var(--accent); }
svg text { font: 11px system-ui, sans-serif; }
`;

const SCRIPT = `
"use strict";
const VIEWS = ["overview", "tasks", "actors", "objects", "logs", "timeline"];
let snap = null;
const $ = (s) => document.querySelector(s);
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
function table(head, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, head.map((x) => h("th", {}, x)))), h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => (c instanceof Node && c.tagName === "TD" ? c : h("td", {}, c)))))));
}
const fmtBytes = (n) => n >= 1 << 30 ? (n / (1 << 30)).toFixed(1) + " GiB" : n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B";
const fmtMs = (x) => x === undefined || x === null ? "-" : x >= 1000 ? (x / 1000).toFixed(2) + " s" : x >= 1 ? x.toFixed(1) + " ms" : (x * 1000).toFixed(0) + " us";
const stateCell = (s) => h("td", { class: "state-" + s }, s);
const taskName = (t) => t.actor && t.kind === "actor_method" ? t.actor.split(" ")[1] + "." + t.name : t.name;
async function api(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  if (r.status === 401) { location.href = "/login"; throw new Error("signed out"); }
  return r.json();
}
function view() {
  const [name, arg] = (location.hash.slice(1) || "overview").split("/");
  for (const a of document.querySelectorAll("header a[data-v]")) a.className = a.dataset.v === name ? "on" : "";
  const main = $("main");
  const draw = DRAW[name] || DRAW.overview;
  Promise.resolve(draw(arg)).then((el) => { main.replaceChildren(el); }, (e) => main.replaceChildren(h("p", { class: "state-failed" }, String(e.message || e))));
}
const DRAW = {
  overview() {
    if (!snap) return h("p", { class: "muted" }, "waiting for the cluster...");
    const s = snap.status;
    const alive = s.nodes.filter((n) => n.state === "alive" && !n.driver);
    const totals = {};
    for (const n of alive) for (const [k, v] of Object.entries(n.resources)) { totals[k] ??= [0, 0]; totals[k][0] += v - (n.available[k] ?? 0); totals[k][1] += v; }
    const used = alive.reduce((a, n) => a + n.storeUsed, 0), cap = alive.reduce((a, n) => a + n.storeCapacity, 0);
    const counts = {};
    for (const r of snap.summary) for (const [k, v] of Object.entries(r.states)) counts[k] = (counts[k] ?? 0) + v;
    return h("div", {},
      h("div", { class: "cards" },
        h("div", { class: "card", id: "card-nodes" }, h("div", { class: "muted" }, "nodes"), h("div", { class: "big" }, alive.length + " alive"), h("div", { class: "muted" }, s.nodes.filter((n) => n.driver && n.state === "alive").length + " drivers, " + s.nodes.filter((n) => n.state === "dead").length + " dead")),
        h("div", { class: "card" }, h("div", { class: "muted" }, "tasks"), h("div", { class: "big" }, (counts.finished ?? 0) + " finished"), h("div", { class: counts.failed ? "state-failed" : "muted" }, (counts.failed ?? 0) + " failed"), h("div", { class: "muted" }, ((counts.submitted ?? 0) + (counts.pending_args ?? 0) + (counts.scheduled ?? 0)) + " pending or running")),
        h("div", { class: "card", id: "card-actors" }, h("div", { class: "muted" }, "actors"), h("div", { class: "big" }, s.actors.alive + " alive"), h("div", { class: "muted" }, s.actors.dead + " dead")),
        h("div", { class: "card" }, h("div", { class: "muted" }, "object store"), h("div", { class: "big" }, fmtBytes(used)), h("div", { class: "bar" }, h("i", { style: "width:" + (cap ? (100 * used / cap).toFixed(1) : 0) + "%" })), h("div", { class: "muted" }, "of " + fmtBytes(cap)))),
      h("h2", {}, "Resources"),
      table(["resource", "used", "total", ""], Object.entries(totals).map(([k, [u, t]]) => [k, +u.toFixed(3), t, h("div", { class: "bar" }, h("i", { style: "width:" + (t ? (100 * u / t).toFixed(1) : 0) + "%" }))])),
      h("h2", {}, "Nodes"),
      table(["node", "address", "state", "host", "resources (free/total)", "queued", "objects", "store", "actors", "heartbeat"], s.nodes.map((n) => [
        h("td", { class: "mono" }, n.nodeId.slice(0, 8) + (n.driver ? " (driver)" : "")), n.address, stateCell(n.state), n.hostname + " pid " + n.pid,
        Object.entries(n.resources).map(([k, v]) => k + " " + (n.available[k] ?? 0) + "/" + v).join(", "), n.queued, n.objects, fmtBytes(n.storeUsed) + " / " + fmtBytes(n.storeCapacity), n.actors,
        n.state === "alive" ? n.lastHeartbeatMs + " ms ago" : (n.death || "")])));
  },
  async tasks(id) {
    if (id) return DRAW.task(id);
    const q = new URLSearchParams(location.search);
    const state = sessionStorage.getItem("state") || "", name = sessionStorage.getItem("name") || "";
    const rows = await api("/api/tasks?limit=200" + (state ? "&state=" + encodeURIComponent(state) : "") + (name ? "&name=" + encodeURIComponent(name) : ""));
    const pick = h("select", { onchange: (e) => { sessionStorage.setItem("state", e.target.value); view(); } }, ["", "submitted", "pending_args", "scheduled", "finished", "failed"].map((s) => { const o = h("option", { value: s }, s || "any state"); if (s === state) o.selected = true; return o; }));
    const box = h("input", { placeholder: "function or Class.method", value: name, onchange: (e) => { sessionStorage.setItem("name", e.target.value); view(); } });
    return h("div", {}, h("div", { class: "filters" }, pick, box),
      h("h2", {}, "Summary"), table(["function", "kind", "total", "states", "mean", "p50", "p99"], snap ? snap.summary.map((r) => [r.name, r.kind, r.total, Object.entries(r.states).map(([k, v]) => k + " " + v).join(", "), fmtMs(r.meanMs), fmtMs(r.p50Ms), fmtMs(r.p99Ms)]) : []),
      h("h2", {}, "Tasks (newest first)"),
      table(["task", "name", "state", "node", "isolate", "duration", "error"], rows.map((t) => [h("td", { class: "mono" }, h("a", { href: "#task/" + t.taskId }, t.taskId.slice(0, 16))), taskName(t), stateCell(t.state), h("td", { class: "mono" }, t.node.slice(0, 8)), t.isolate, fmtMs(t.durationMs), t.error ? t.error.name + ": " + t.error.message : ""])));
  },
  async task(id) {
    const t = await api("/api/task/" + encodeURIComponent(id));
    if (!t) return h("p", {}, "No task " + id + " (the head keeps the latest tasks of each job).");
    const hist = Object.entries(t.times).sort((a, b) => a[1] - b[1]);
    return h("div", { id: "task-detail" }, h("h2", {}, "Task " + t.taskId),
      table(["field", "value"], [["name", taskName(t) + " (" + t.kind + ")"], ["state", t.state], ["node", t.node], ["isolate", t.isolate], ["job", t.job], ["attempts", t.attempts], ["duration", fmtMs(t.durationMs)], ["actor", t.actor || "-"]]),
      h("h2", {}, "History"), table(["time", "state"], hist.map(([s, at]) => [new Date(at).toISOString(), s])),
      t.error ? h("div", {}, h("h2", {}, "Error"), h("pre", { class: "state-failed" }, t.error.code + " " + t.error.name + ": " + t.error.message), t.error.stack ? h("pre", { id: "guest-stack" }, t.error.stack) : null) : null);
  },
  async actors() {
    const rows = await api("/api/actors");
    return h("div", {}, h("h2", {}, "Actors"), table(["actor", "class", "name", "state", "node", "restarts", "calls", "death"], rows.map((a) => [h("td", { class: "mono" }, a.actorId.slice(0, 16)), a.className, a.name || "", stateCell(a.state), h("td", { class: "mono" }, a.node.slice(0, 8)), a.restarts, a.calls ?? "", a.death || ""])));
  },
  async objects() {
    const rows = await api("/api/objects");
    const nodes = snap ? snap.status.nodes.filter((n) => n.state === "alive") : [];
    return h("div", {}, h("h2", {}, "Object store by node"), table(["node", "objects", "used", "capacity"], nodes.map((n) => [h("td", { class: "mono" }, n.nodeId.slice(0, 8)), n.objects, fmtBytes(n.storeUsed), fmtBytes(n.storeCapacity)])),
      h("h2", {}, "Objects, every node's (largest first)"), table(["object", "node", "state", "where", "size", "refs", "pins", "on disk"], rows.map((o) => [h("td", { class: "mono" }, o.id), h("td", { class: "mono" }, o.node.slice(0, 8)), o.state, o.where, fmtBytes(o.size), o.refs, o.pins, o.onDisk ? "yes" : ""])));
  },
  async logs() {
    const actor = sessionStorage.getItem("logActor") || "";
    const rows = await api("/api/logs?limit=500" + (actor ? "&actor=" + encodeURIComponent(actor) : ""));
    const box = h("input", { placeholder: "actor class or ID", value: actor, onchange: (e) => { sessionStorage.setItem("logActor", e.target.value); view(); } });
    return h("div", {}, h("div", { class: "filters" }, box), h("h2", {}, "What guests printed (latest last)"),
      table(["time", "node", "where", "level", "line"], rows.map((l) => [new Date(l.time).toISOString().slice(11, 23), h("td", { class: "mono" }, l.node.slice(0, 8)), l.actor ? l.actor + "." + (l.task || "") : (l.task || ""), l.level, h("td", { class: "mono log-line" }, l.text)])));
  },
  async timeline() {
    const ev = (await api("/api/timeline")).slice(-3000);
    if (ev.length === 0) return h("p", { class: "muted" }, "No task runs yet.");
    const lanes = [...new Set(ev.map((e) => e.pid + " / isolate " + e.tid))].sort();
    const t0 = Math.min(...ev.map((e) => e.ts)), t1 = Math.max(...ev.map((e) => e.ts + e.dur));
    const W = 1100, L = 170, H = 18, span = Math.max(1, t1 - t0);
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", W + L); svg.setAttribute("height", lanes.length * H + 24);
    lanes.forEach((lane, i) => { const t = document.createElementNS(NS, "text"); t.setAttribute("x", 4); t.setAttribute("y", i * H + 13); t.textContent = lane; svg.append(t); });
    for (const e of ev) {
      const r = document.createElementNS(NS, "rect");
      r.setAttribute("x", L + (e.ts - t0) / span * W); r.setAttribute("y", lanes.indexOf(e.pid + " / isolate " + e.tid) * H + 2);
      r.setAttribute("width", Math.max(1, e.dur / span * W)); r.setAttribute("height", H - 4);
      r.setAttribute("fill", e.args.error ? "#c0352b" : "#2f6fdf");
      const tip = document.createElementNS(NS, "title"); tip.textContent = e.name + " " + fmtMs(e.dur / 1000); r.append(tip); svg.append(r);
    }
    const axis = document.createElementNS(NS, "text"); axis.setAttribute("x", L); axis.setAttribute("y", lanes.length * H + 18); axis.textContent = "0 to " + fmtMs(span / 1000); svg.append(axis);
    return h("div", {}, h("h2", {}, "Timeline (" + ev.length + " task runs; download the trace: "), h("a", { href: "/api/timeline?download=1" }, "trace.json"), h("div", {}, svg));
  },
};
function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/live");
  ws.onmessage = (m) => {
    snap = JSON.parse(m.data);
    $("#live").textContent = "live · " + new Date().toLocaleTimeString();
    const name = (location.hash.slice(1) || "overview").split("/")[0];
    if (name === "overview") view();
  };
  ws.onclose = () => { $("#live").textContent = "reconnecting..."; setTimeout(connect, 1000); };
}
window.addEventListener("hashchange", view);
view();
connect();
`;

export function dashboardPage(): string {
  const nav = ["overview", "tasks", "actors", "objects", "logs", "timeline"].map((v) => `<a href="#${v}" data-v="${v}">${v}</a>`).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wray dashboard</title><meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head><body><header><b>wray</b>${nav}<span id="live">connecting...</span></header><main></main><script>${SCRIPT}</script></body></html>`;
}

export function loginPage(failed: boolean): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wray dashboard: sign in</title><style>${STYLE} form { max-width: 420px; margin: 80px auto; background: #fff; border: 1px solid var(--line); padding: 24px; border-radius: 8px; } input { width: 100%; margin: 10px 0; }</style></head><body><form method="post" action="/login"><b>wray dashboard</b><p class="muted">The cluster's token (the file <span class="mono">wray start --head</span> printed, default ~/.wray/token):</p><input type="password" name="token" autofocus autocomplete="off">${failed ? '<p class="state-failed" id="login-failed">That is not the cluster\'s token.</p>' : ""}<button type="submit">Sign in</button></form></body></html>`;
}

/**
 * `wray start`, `wray stop` and `wray status`: run a head or a host as a
 * process of its own, stop this machine's nodes, show the cluster.
 *
 * This file's parts:
 *   start        options and their checks; in the background, or --block (runNode: the
 *                head, its job runner, the node, shutdown, rejoining when fenced)
 *   stop         this machine's nodes, heads last
 *   the head     askHead / connectHead: what the other commands ask it through
 *   status       `wray status`, formatStatus
 */
import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Connection, TlsOptions } from "../../net/index.js";
import { ConnectionClosedError, MSG, WsTransport } from "../../net/index.js";
import type { ClusterOptions } from "../cluster/index.js";
import { ClusterNode } from "../cluster/index.js";
import { WrayError } from "../../common/errors.js";
import { formatLog } from "../log.js";
import type { TlsFiles } from "../head/index.js";
import {
  defaultTokenFile,
  ensureToken,
  readHeadFile,
  readTlsFiles,
  tlsFilesFromEnv,
  readToken,
  removeHeadFile,
  removeNodeFile,
  runningNodes,
  stillRunning,
  wrayHome,
  writeHeadFile,
  writeNodeFile,
} from "../head/index.js";
import type { ClusterStatus } from "../head/index.js";
import { Head } from "../head/index.js";
import { JobRunner } from "../jobs/index.js";
import type { ObserveServer } from "../observe/index.js";
import { headMetrics, nodeMetrics, startObserveServer } from "../observe/index.js";
import type { NodeOptions } from "../node/index.js";
import { HostNode } from "../node/index.js";
import { NodeFencedError } from "../errors.js";
import { openHostGpu } from "../driver/index.js";
import type { GpuBackend } from "../../gpu/index.js";
import { GPU_BACKENDS, HostGpu } from "../../gpu/index.js";

const START_OPTIONS = {
  head: { type: "boolean" },
  address: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "token-file": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-ca": { type: "string" },
  "num-cpus": { type: "string" },
  "num-gpus": { type: "string" },
  "gpu-backend": { type: "string" },
  resources: { type: "string" },
  "object-store-memory": { type: "string" },
  shards: { type: "string" },
  "heartbeat-ms": { type: "string" },
  "missed-heartbeats": { type: "string" },
  restore: { type: "boolean" },
  "head-reconnect-timeout-ms": { type: "string" },
  "node-ip-address": { type: "string" },
  "node-port": { type: "string" },
  "no-task-events": { type: "boolean" },
  "dashboard-port": { type: "string" },
  "dashboard-host": { type: "string" },
  "metrics-port": { type: "string" },
  "max-tasks-per-job": { type: "string" },
  "job-retention-s": { type: "string" },
  block: { type: "boolean" },
} as const;

function num(name: string, v: string | undefined, min = 0, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be ${integer ? "a whole number" : "a number"} >= ${min}, got '${v}'`);
  return n;
}

function port(name: string, v: string | undefined): number | undefined {
  const n = num(name, v, 0, true);
  if (n !== undefined && n > 65535) throw new UsageError(`--${name} must be a port number (0 to 65535), got '${v}'`);
  return n;
}

/** A mistake in what was typed: `wray` prints it with where to look, and exits with code 2. */
export class UsageError extends Error {}

type StartValues = ReturnType<typeof parseArgs<{ args: string[]; options: typeof START_OPTIONS }>>["values"];

/** `wray start`: without --block, starts the node in the background and returns once it is up. */
export async function start(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: START_OPTIONS, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (!values.head && !values.address) throw new UsageError("give --head (start a cluster) or --address ws://HEAD:PORT (join one)");
  if (values.head && values.address) throw new UsageError("--head and --address exclude each other");
  if (!values.head) for (const k of ["port", "host", "shards", "heartbeat-ms", "missed-heartbeats", "restore", "job-retention-s"] as const) if (values[k] !== undefined) throw new UsageError(`--${k} is a head option (with --head); a node's own server takes --node-ip-address and --node-port`);
  if (values.address !== undefined && !/^wss?:\/\/./.test(values.address)) throw new UsageError(`--address must be the head's ws://HOST:PORT (wss:// with TLS), got '${values.address}'`);
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) throw new UsageError("--tls-cert and --tls-key go together (a certificate and its private key, PEM files)");
  resources(values.resources);
  port("port", values.port);
  port("node-port", values["node-port"]);
  num("shards", values.shards, 1, true);
  num("heartbeat-ms", values["heartbeat-ms"], 10);
  num("missed-heartbeats", values["missed-heartbeats"], 1, true);
  num("head-reconnect-timeout-ms", values["head-reconnect-timeout-ms"], 0);
  num("num-cpus", values["num-cpus"]);
  num("num-gpus", values["num-gpus"]);
  num("object-store-memory", values["object-store-memory"], 1 << 20);
  num("job-retention-s", values["job-retention-s"], 0);
  const backend = values["gpu-backend"];
  if (backend !== undefined && !(GPU_BACKENDS as readonly string[]).includes(backend)) throw new UsageError(`--gpu-backend must be one of ${GPU_BACKENDS.join(", ")}, got '${backend}'`);
  if (values.block) return runNode(values);
  return startInBackground(argv, values.head === true);
}

/** --resources: a JSON object of numbers >= 0. */
function resources(v: string | undefined): Record<string, number> | undefined {
  if (v === undefined) return undefined;
  let r: unknown;
  try {
    r = JSON.parse(v);
  } catch (e) {
    throw new UsageError(`--resources is not valid JSON (${(e as Error).message}): give an object, e.g. --resources '{"memoryBound": 2}'`);
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) throw new UsageError(`--resources must be a JSON object, e.g. '{"memoryBound": 2}', got ${v}`);
  for (const [k, n] of Object.entries(r)) if (typeof n !== "number" || !(n >= 0)) throw new UsageError(`--resources: '${k}' must be a number >= 0, got ${JSON.stringify(n)}`);
  return r as Record<string, number>;
}

async function startInBackground(argv: string[], head: boolean): Promise<number> {
  const logs = join(wrayHome(), "logs");
  mkdirSync(logs, { recursive: true });
  const log = join(logs, `${head ? "head" : "node"}-${Date.now()}.log`);
  const fd = openSync(log, "a");
  // from the bundle (dist/cli.js beside this chunk), not from this source file
  const cli = fileURLToPath(new URL("./cli.js", import.meta.url));
  const child = spawn(process.execPath, [cli, "start", ...argv, "--block"], { detached: true, stdio: ["ignore", fd, fd] });
  const exited = new Promise<number>((r) => child.once("exit", (code) => r(code ?? 1)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (runningNodes().some((n) => n.pid === child.pid)) break;
    const code = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    if (code !== undefined || Date.now() > deadline) {
      // the node says why in its last lines (one line for a known failure)
      const said = readFileSync(log, "utf8").trim().split("\n").slice(-20).join("\n");
      process.stderr.write(code === undefined ? `wray start: the node did not start in 60 s (its log: ${log}):\n${said}\n` : `${said || "wray start: the node exited before it started"}\n(its log: ${log})\n`);
      if (code === undefined) child.kill("SIGKILL");
      return 1;
    }
  }
  child.unref();
  process.stdout.write(readFileSync(log, "utf8"));
  process.stdout.write(`(logs: ${log})\n`);
  return 0;
}

async function runNode(values: StartValues): Promise<number> {
  const say = (l: string) => process.stdout.write(`${l}\n`);
  const fail = (l: string) => {
    process.stderr.write(`wray start: ${l}\n`);
    return 1;
  };
  const dashboardPort = port("dashboard-port", values["dashboard-port"]);
  const metricsPort = port("metrics-port", values["metrics-port"]);
  if (dashboardPort !== undefined && !values.head) return fail("--dashboard-port is the head's (another node serves its metrics with --metrics-port)");
  const servers: ObserveServer[] = [];
  const tokenFile = values["token-file"] ?? defaultTokenFile();
  const tlsFiles: TlsFiles = { ...tlsFilesFromEnv() };
  if (values["tls-cert"] !== undefined) tlsFiles.cert = values["tls-cert"];
  if (values["tls-key"] !== undefined) tlsFiles.key = values["tls-key"];
  if (values["tls-ca"] !== undefined) tlsFiles.ca = values["tls-ca"];
  let tls: TlsOptions | undefined;
  try {
    tls = readTlsFiles(tlsFiles);
  } catch (e) {
    return fail((e as Error).message);
  }
  let head: Head | undefined;
  let sessionDir: string | undefined;
  let address = values.address;
  let token: string;
  const removeSession = () => {
    if (sessionDir) rmSync(sessionDir, { recursive: true, force: true });
  };
  if (values.head) {
    try {
      token = ensureToken(tokenFile);
    } catch (e) {
      return fail((e as Error).message);
    }
    let host = values.host;
    let headPort = port("port", values.port) ?? 6380;
    if (values.restore) {
      // the last head's session: its control store, at its address (its nodes keep connecting there)
      const last = readHeadFile();
      if (!last?.session) return fail(`--restore: no head to restore in ${wrayHome()} (no head.json naming a session; was the last head stopped in order? then its session was removed)`);
      if (runningNodes().some((n) => n.head && n.pid === last.pid)) return fail(`--restore: the head it names (pid ${last.pid}) is still running`);
      const at = new URL(last.address);
      host ??= at.hostname.replace(/^\[|\]$/g, "");
      if (values.port === undefined) headPort = Number(at.port);
      sessionDir = last.session;
    } else sessionDir = join(wrayHome(), "sessions", `${Date.now()}-${process.pid}`);
    try {
      head = await Head.start({
        host,
        port: headPort,
        token,
        ...(tls?.cert === undefined ? {} : { tls }),
        directory: join(sessionDir, "gcs"),
        shards: num("shards", values.shards, 1, true),
        heartbeatMs: num("heartbeat-ms", values["heartbeat-ms"], 10),
        missedHeartbeats: num("missed-heartbeats", values["missed-heartbeats"], 1, true),
        maxTasksPerJob: num("max-tasks-per-job", values["max-tasks-per-job"], 1, true),
        log: say,
        onStop: () => void shutdown(0),
      });
    } catch (e) {
      if (!values.restore) removeSession();
      if (e instanceof WrayError) return fail(e.message);
      throw e;
    }
    address = head.address;
    writeHeadFile({ address: head.address, pid: process.pid, tokenFile, session: sessionDir, ...(tls ? { tls: tlsFiles } : {}) });
  } else {
    try {
      token = process.env.WRAY_TOKEN ?? (await readToken(tokenFile));
    } catch (e) {
      return fail((e as Error).message);
    }
  }
  const options: NodeOptions = { log: (r) => say(formatLog(r)) };
  const cpus = num("num-cpus", values["num-cpus"]);
  if (cpus !== undefined) options.numCpus = cpus;
  const gpus = num("num-gpus", values["num-gpus"]);
  if (gpus !== undefined) options.numGpus = gpus;
  const res = resources(values.resources);
  if (res !== undefined) options.resources = res;
  const mem = num("object-store-memory", values["object-store-memory"], 1 << 20);
  if (mem !== undefined) options.objectStoreMemory = mem;
  if (values["no-task-events"]) options.taskEvents = false;
  // the host's GPU: opened now when GPUs were asked for, else on first use (offered when one can exist);
  // a node closes it when it leaves, so a node that joins again opens it again
  const withGpu = async (): Promise<NodeOptions> => ({ ...options, ...(await openHostGpu({ numGpus: options.numGpus, gpuBackend: values["gpu-backend"] as GpuBackend | undefined, advertise: true, log: say })) });
  const joining: ClusterOptions = { address: address!, token, log: say, onLost: (e) => void lost(e) };
  if (tls) joining.tls = tls;
  const ip = values["node-ip-address"] ?? (values.head ? values.host : undefined);
  if (ip !== undefined) joining.listenHost = ip;
  const nodePort = port("node-port", values["node-port"]);
  if (nodePort !== undefined) joining.listenPort = nodePort;
  const reconnect = num("head-reconnect-timeout-ms", values["head-reconnect-timeout-ms"], 0);
  if (reconnect !== undefined) joining.headReconnectTimeoutMs = reconnect;

  /** A node (isolates, object store) joined to the cluster. */
  const member = async (): Promise<{ node: HostNode; cluster: ClusterNode }> => {
    const o = await withGpu();
    const node = new HostNode(o);
    if (o.gpu instanceof HostGpu && o.gpu.device) say(`GPU: ${o.gpu.device.adapter}`);
    node.start();
    try {
      return { node, cluster: await ClusterNode.join(node, joining) };
    } catch (e) {
      await node.close();
      throw e;
    }
  };
  let current: { node: HostNode; cluster: ClusterNode };
  try {
    current = await member();
  } catch (e) {
    await head?.close();
    if (!values.restore) removeSession();
    if (values.head) removeHeadFile(process.pid);
    if (e instanceof WrayError) return fail(e.message);
    throw e;
  }
  // the head runs jobs, each under a driver of its own in this process
  let jobs: JobRunner | undefined;
  if (head) {
    try {
      const retention = num("job-retention-s", values["job-retention-s"], 0);
      jobs = await JobRunner.start({ head, token, ...(tls ? { tls } : {}), log: say, ...(retention !== undefined ? { retentionMs: retention * 1000 } : {}) });
      head.jobs = jobs;
    } catch (e) {
      await current.cluster.close().catch(() => {});
      await current.node.close().catch(() => {});
      await head.close();
      removeHeadFile(process.pid);
      return fail(`starting the job runner: ${(e as Error).message}`);
    }
  }
  let stopping = false;
  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    removeNodeFile(process.pid);
    removeHeadFile(process.pid);
    for (const s of servers) await s.close().catch(() => {});
    // running jobs fail (saying the head stopped), and their drivers leave
    await jobs?.close().catch((e: Error) => process.stderr.write(`wray: closing the job runner: ${e.message}\n`));
    // this node leaves, then the head stops accepting, finishes its writes and closes its store
    await current.cluster.close().catch(() => {});
    await current.node.close().catch(() => {});
    await head?.close().catch((e: Error) => process.stderr.write(`wray: closing the head: ${e.message}\n`));
    removeSession();
    if (head) say("(wray) head stopped");
    process.exit(code);
  }
  /**
   * The node left the cluster: declared dead (fenced), it drops everything
   * it held as that node and joins again as a new one; with the head gone
   * for good, the process ends.
   */
  async function lost(e: Error): Promise<void> {
    if (stopping) return;
    if (!(e instanceof NodeFencedError)) {
      say(`(wray) ${e.message}: stopping`);
      // the head stopped in order (a ConnectionClosedError), or never came back
      return shutdown(e instanceof ConnectionClosedError ? 0 : 1);
    }
    say(`(wray) ${e.message}: dropping its work, and joining again as a new node`);
    await current.node.close().catch(() => {});
    for (let delay = 100; !stopping; delay = Math.min(2000, delay * 2)) {
      try {
        current = await member();
        break;
      } catch (err) {
        say(`(wray) joining again failed (${(err as Error).message}): trying again in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    if (stopping) return;
    say(`wray node ${current.cluster.nodeId.slice(0, 8)} joined ${address} (${offered(current.node)}), serving peers at ${current.cluster.address}`);
    writeNodeFile({ pid: process.pid, nodeId: current.cluster.nodeId, head: head !== undefined, address: head?.address ?? current.cluster.address });
  }
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGINT", () => void shutdown(0));
  const { cluster, node } = current;
  if (head) {
    say(`wray head started at ${head.address} (node ${cluster.nodeId.slice(0, 8)}, ${offered(node)}), serving peers at ${cluster.address}`);
    say(`join it:   wray start --address ${head.address} --token-file ${tokenFile}${tls ? ` --tls-ca ${tlsFiles.ca ?? tlsFiles.cert} --tls-cert CERT --tls-key KEY` : ""}`);
    say(`drivers:   init({ address: "auto" }) on this machine, or WRAY_ADDRESS=${head.address}`);
  } else say(`wray node ${cluster.nodeId.slice(0, 8)} joined ${address} (${offered(node)}), serving peers at ${cluster.address}`);
  writeNodeFile({ pid: process.pid, nodeId: cluster.nodeId, head: head !== undefined, address: head?.address ?? cluster.address });
  if (dashboardPort !== undefined || metricsPort !== undefined) {
    try {
      const registry = nodeMetrics(() => current.node);
      if (head) headMetrics(head, registry);
      const host = values["dashboard-host"] ?? "127.0.0.1";
      if (dashboardPort !== undefined) {
        const s = await startObserveServer({ host, port: dashboardPort, token, registry, head });
        servers.push(s);
        say(`dashboard: ${s.url} (sign in with the cluster's token; Prometheus: ${s.url}/metrics)`);
      }
      if (metricsPort !== undefined) {
        const s = await startObserveServer({ host, port: metricsPort, token, registry });
        servers.push(s);
        say(`metrics:   ${s.url}/metrics (Authorization: Bearer <the cluster's token>)`);
      }
    } catch (e) {
      process.stderr.write(`wray start: the dashboard or metrics server did not start: ${(e as Error).message}\n`);
      await shutdown(1);
    }
  }
  await new Promise(() => {});
  return 0;
}

/** What a node offers, as `CPU=2, GPU=1`. */
function offered(node: HostNode): string {
  return Object.entries(Object.fromEntries(node.scheduler.resources.total))
    .map(([k, v]) => `${k}=${v / 10_000}`)
    .join(", ");
}

/** `wray stop`: SIGTERM to this machine's nodes (heads last), SIGKILL to any still there after 10 s. */
export async function stop(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (wray stop takes none)`);
  const nodes = runningNodes();
  if (nodes.length === 0) {
    process.stdout.write("no wray nodes are running on this machine\n");
    return 0;
  }
  const order = [...nodes.filter((n) => !n.head), ...nodes.filter((n) => n.head)];
  // each signal goes only to the process its file recorded, checked just before (a PID can be reused)
  for (const n of order) {
    try {
      if (stillRunning(n)) process.kill(n.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  while (order.some(stillRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  let killed = 0;
  for (const n of order) {
    if (!stillRunning(n)) continue;
    process.kill(n.pid, "SIGKILL");
    removeNodeFile(n.pid);
    killed++;
  }
  process.stdout.write(`stopped ${order.length} wray node(s)${killed ? ` (${killed} killed after 10 s)` : ""}\n`);
  return 0;
}

/** `wray status [--address A] [--token-file F] [--json]`. */
/** The options every command that asks the head takes. */
export const HEAD_OPTIONS = { address: { type: "string" }, "token-file": { type: "string" }, "tls-ca": { type: "string" }, json: { type: "boolean" } } as const;

/**
 * Asks the head `type` with `body` (the cluster of --address, else the one
 * started on this machine). Throws UsageError when there is none to ask,
 * and the request's error when it fails.
 */
export async function askHead<T>(values: HeadValues, type: number, body: unknown, timeoutMs = 30_000): Promise<T> {
  const conn = await connectHead(values);
  try {
    return await conn.request<T>(type as never, body, timeoutMs);
  } finally {
    conn.close();
  }
}

/** What names the head to ask: --address (else the cluster started on this machine), --token-file, --tls-ca. */
export type HeadValues = { address?: string; "token-file"?: string; "tls-ca"?: string };

/** A connection to the head (see askHead), for a command that asks several times; close it after. */
export async function connectHead(values: HeadValues): Promise<Connection> {
  const headFile = readHeadFile();
  const address = values.address ?? headFile?.address;
  if (!address) throw new NoClusterHere();
  const tokenFile = values["token-file"] ?? headFile?.tokenFile ?? defaultTokenFile();
  const token = process.env.WRAY_TOKEN ?? (await readToken(tokenFile));
  const ca = values["tls-ca"] ?? process.env.WRAY_TLS_CA ?? (values.address === undefined ? (headFile?.tls?.ca ?? headFile?.tls?.cert) : undefined);
  return new WsTransport({ tls: readTlsFiles(ca === undefined ? {} : { ca }) }).connect(address, token);
}

/** No --address and no cluster started on this machine. */
export class NoClusterHere extends Error {
  constructor() {
    super("no cluster on this machine (start one with `wray start --head`, or give --address ws://HEAD:PORT)");
  }
}

export async function status(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: HEAD_OPTIONS, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  let s: ClusterStatus;
  try {
    s = await askHead<ClusterStatus>(values, MSG.CLUSTER_STATUS, null, 10_000);
  } catch (e) {
    process.stderr.write(`wray status: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(values.json ? JSON.stringify(s, null, 2) + "\n" : formatStatus(s));
  return 0;
}

/** Bytes for people: "1.5 MiB". */
export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The status as a table a person reads. */
export function formatStatus(s: ClusterStatus): string {
  const alive = s.nodes.filter((n) => n.state === "alive");
  const totals: Record<string, [number, number]> = {};
  for (const n of alive) {
    if (n.driver) continue;
    for (const [k, v] of Object.entries(n.resources)) {
      const t = (totals[k] ??= [0, 0]);
      t[0] += (n.resources[k] ?? 0) - (n.available[k] ?? 0);
      t[1] += v;
    }
  }
  const lines = [
    `wray cluster at ${s.address}`,
    `nodes: ${alive.filter((n) => !n.driver).length} alive, ${alive.filter((n) => n.driver).length} driver(s), ${s.nodes.length - alive.length} dead · heartbeat ${s.heartbeatMs} ms, dead after ${s.missedHeartbeats} missed`,
    `resources (used/total): ${Object.entries(totals).map(([k, [u, t]]) => `${k} ${+u.toFixed(2)}/${+t.toFixed(2)}`).join(", ") || "none"}`,
    `tasks placed by the global scheduler: ${s.placed} · actors: ${s.actors.alive} alive · control store: ${s.controlStore.shards} shards, ${s.controlStore.writes} writes`,
    "",
  ];
  const rows = [["NODE", "STATE", "KIND", "HOST", "PID", "RESOURCES (free/total)", "QUEUED", "OBJECTS", "STORE", "ACTORS", "HEARTBEAT"]];
  for (const n of s.nodes) {
    rows.push([
      n.nodeId.slice(0, 8),
      n.state,
      n.driver ? "driver" : "node",
      n.hostname,
      String(n.pid),
      Object.entries(n.resources).map(([k, v]) => `${k} ${+(n.available[k] ?? 0).toFixed(2)}/${v}`).join(", ") || "-",
      String(n.queued),
      String(n.objects),
      `${fmtBytes(n.storeUsed)}/${fmtBytes(n.storeCapacity)}`,
      String(n.actors),
      n.state === "alive" ? `${n.lastHeartbeatMs} ms ago` : (n.death ?? ""),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) lines.push(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
  return lines.join("\n") + "\n";
}

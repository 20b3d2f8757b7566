/**
 * Starting wray from a program: `init()` makes the embedded single-host
 * cluster, or joins a running one as a driver (an address, "auto", or
 * $WRAY_ADDRESS), and returns the Driver.
 */
import { processAlive } from "../../common/process.js";
import type { GpuBackend } from "../../gpu/index.js";
import type { TlsOptions, Transport } from "../../net/index.js";
import type { ClusterOptions } from "../cluster/index.js";
import { ClusterNode } from "../cluster/index.js";
import { NoClusterError } from "../errors.js";
import type { TlsFiles } from "../head/index.js";
import { readHeadFile, readTlsFiles, readToken, tlsFilesFromEnv, wrayHome } from "../head/index.js";
import { printLog, wrayRecord } from "../log.js";
import type { NodeOptions } from "../node/index.js";
import { HostNode } from "../node/index.js";
import { Driver } from "./driver.js";
import { openHostGpu } from "./gpu.js";

export interface InitOptions extends NodeOptions {
  /**
   * A cluster to join: `ws://HOST:PORT` (the head's address), `"auto"`
   * (the cluster `wray start --head` started on this machine, with its
   * token file), or `"local"` (none). Default: $WRAY_ADDRESS, else none:
   * wray runs an embedded single-host cluster in this process. So one
   * program runs unchanged embedded and, with WRAY_ADDRESS set, on a
   * cluster. Joined, the driver is a node of its own: its resources
   * (`numCpus`, default 0 here) take tasks only when given; objects it puts
   * and results it gets live in its own object store.
   */
  address?: string;
  /**
   * On a cluster: the address this driver serves its objects at, which the
   * cluster's nodes connect to (Ray's node IP address). Default: the
   * address this machine reaches the head from.
   */
  nodeIpAddress?: string;
  /** On a cluster: the port of that server. Default: any free one. */
  nodePort?: number;
  /** The cluster token. Default: $WRAY_TOKEN, else the token file. */
  token?: string;
  /** Where the cluster token is. Default: ~/.wray/token (or $WRAY_HOME/token). */
  tokenFile?: string;
  /**
   * TLS for a wss:// cluster: `ca`, the certificates to check the cluster's
   * against, and `cert` and `key` for this driver's own server (PEM text).
   * Default: the files $WRAY_TLS_CA, $WRAY_TLS_CERT and $WRAY_TLS_KEY name,
   * else (address "auto") those the head on this machine was started with.
   */
  tls?: TlsOptions;
  /**
   * How the cluster is reached. Default: WebSockets. An InprocTransport
   * shared with a Head and hosts started in this process (`inproc://`
   * addresses) runs a whole cluster inside one process, on the same
   * protocol code.
   */
  transport?: Transport;
  /**
   * Which Dawn backend the host's GPU device uses (`vulkan`, `metal`,
   * `d3d12`, ...). Default: Dawn's choice. A device is opened unless
   * `numGpus` is 0; embedded, it is offered to tasks as 1 GPU (or
   * `numGpus`); a driver that joins a cluster keeps it for `ray.gpu` and
   * offers GPUs only when given `numGpus`.
   */
  gpuBackend?: GpuBackend;
  /**
   * On a cluster: the most lineage this driver keeps to remake results
   * lost with their nodes (the specs of finished tasks whose results live
   * only elsewhere); past it the oldest goes, and those results fail with
   * ObjectLostError if lost. Default 1 GiB (Ray's max_lineage_bytes).
   */
  maxLineageBytes?: number;
  /**
   * On a cluster: how long the driver keeps connecting to its head after
   * the connection is lost (the head died or restarts). Meanwhile it runs
   * on: results from other nodes still arrive, and what needs the head
   * waits. Past it, gets in progress and later calls fail with
   * HeadUnavailableError. Default 60 s (Ray's raylet).
   */
  headReconnectTimeoutMs?: number;
}

/** A node for `init`; options it refuses close the GPU device opened for it. */
function newNode(options: NodeOptions): HostNode {
  try {
    return new HostNode(options);
  } catch (e) {
    if (typeof options.gpu === "object") options.gpu.close();
    throw e;
  }
}

/**
 * Starts wray. With no address it runs an embedded single-host cluster in
 * this process (one isolate per core); with `address` it joins that
 * cluster as a driver.
 */
export async function init(options: InitOptions = {}): Promise<Driver> {
  const { address: given, token, tokenFile, tls, transport, gpuBackend, nodeIpAddress, nodePort, maxLineageBytes, headReconnectTimeoutMs, log: userLog, ...nodeOptions } = options;
  if (userLog !== undefined && typeof userLog !== "function") throw new TypeError("init(): log must be a function taking a log record");
  const log = userLog ?? printLog;
  const target = await clusterAddress(given, transport !== undefined);
  if (nodeIpAddress !== undefined && (typeof nodeIpAddress !== "string" || nodeIpAddress.length === 0)) throw new TypeError("init(): nodeIpAddress must be an IP address or host name");
  if (nodePort !== undefined && !(Number.isInteger(nodePort) && nodePort >= 0 && nodePort < 65536)) throw new RangeError(`init(): nodePort must be a port number, got ${String(nodePort)}`);
  if (headReconnectTimeoutMs !== undefined && !(headReconnectTimeoutMs >= 0 && Number.isFinite(headReconnectTimeoutMs))) throw new RangeError(`init(): headReconnectTimeoutMs must be a number of ms >= 0, got ${String(headReconnectTimeoutMs)}`);
  if (maxLineageBytes !== undefined && !(Number.isSafeInteger(maxLineageBytes) && maxLineageBytes >= 0)) throw new RangeError(`init(): maxLineageBytes must be a whole number of bytes >= 0, got ${String(maxLineageBytes)}`);
  const clusterToken = target === undefined ? undefined : (token ?? process.env.WRAY_TOKEN ?? (await readToken(tokenFile ?? target.tokenFile)));
  const say = (line: string) => log(wrayRecord(line));
  if (nodeOptions.gpu === undefined) {
    Object.assign(nodeOptions, await openHostGpu({ numGpus: options.numGpus, gpuBackend, advertise: target === undefined, log: say }));
  }
  if (target === undefined) {
    const node = newNode({ ...nodeOptions, log });
    node.start();
    return new Driver(node, options.spinMs ?? 0.1);
  }
  const node = newNode({ numCpus: 0, ...nodeOptions, log });
  node.start();
  let cluster: ClusterNode;
  let driver: Driver | undefined;
  try {
    const opts: ClusterOptions = { address: target.address, token: clusterToken!, driver: true, log: say, transport };
    if (maxLineageBytes !== undefined) opts.maxLineageBytes = maxLineageBytes;
    if (headReconnectTimeoutMs !== undefined) opts.headReconnectTimeoutMs = headReconnectTimeoutMs;
    opts.onLost = (e) => {
      say(`left the cluster: ${e.message}`);
      driver?.left(e);
    };
    const files = tlsFilesFromEnv();
    const clusterTls = tls ?? readTlsFiles(Object.keys(files).length > 0 ? files : (target.tls ?? {}));
    if (clusterTls) opts.tls = clusterTls;
    if (nodeIpAddress !== undefined) opts.listenHost = nodeIpAddress;
    if (nodePort !== undefined) opts.listenPort = nodePort;
    cluster = await ClusterNode.join(node, opts);
  } catch (e) {
    await node.close();
    throw e;
  }
  driver = new Driver(node, options.spinMs ?? 0.1, cluster);
  return driver;
}

/**
 * Which cluster `init` joins: `address`, else $WRAY_ADDRESS; "auto" is the
 * one `wray start --head` started on this machine (its token file with
 * it); "local" or nothing is none (an embedded cluster).
 */
async function clusterAddress(given: string | undefined, customTransport: boolean): Promise<{ address: string; tokenFile?: string; tls?: TlsFiles } | undefined> {
  if (given !== undefined && typeof given !== "string") throw new TypeError(`init(): address must be a string (ws://HOST:PORT, "auto" or "local"), got ${typeof given}`);
  const fromEnv = given === undefined;
  const address = given ?? (process.env.WRAY_ADDRESS || undefined);
  if (address === undefined || address === "local") return undefined;
  const where = fromEnv ? `WRAY_ADDRESS=${address}` : `address ${JSON.stringify(address)}`;
  if (address === "auto") {
    const head = readHeadFile();
    if (!head) throw new NoClusterError(`${where} looks for a head started on this machine, and ${wrayHome()}/head.json names none`);
    if (!processAlive(head.pid)) throw new NoClusterError(`${where}: the head recorded in ${wrayHome()}/head.json (pid ${head.pid}) is not running`);
    return { address: head.address, tokenFile: head.tokenFile, ...(head.tls ? { tls: head.tls } : {}) };
  }
  if (!(customTransport ? /^[a-z]+:\/\/./.test(address) : /^wss?:\/\/./.test(address))) {
    throw new TypeError(`init(): ${where} is not a cluster address: give ws://HOST:PORT (the head's, as \`wray start --head\` prints it), "auto" or "local"`);
  }
  return { address };
}

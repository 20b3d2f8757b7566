/**
 * Connections over WebSockets (npm `ws`): binary frames only, no
 * compression, frames up to MAX_FRAME_BYTES; over TLS (`wss://`) when the
 * transport has a certificate and key, and for clients a CA to check the
 * server's against. The cluster token travels in the upgrade request's
 * `x-wray-token` header and is checked (in constant time) before the
 * WebSocket exists: a peer without it gets HTTP 401 and costs the server
 * nothing more. guard.ts bounds what peers can hold: the handshake's time,
 * connections per address and in total, frames received in part; and
 * refusals are logged as counts.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { NetworkInterfaceInfo } from "node:os";
import { networkInterfaces } from "node:os";
import WebSocket, { WebSocketServer } from "ws";
import { CLOSE_PROTOCOL, Connection } from "./connection.js";
import { AddressInUseError, ConnectionFailedError, UnauthorizedError } from "./errors.js";
import type { ConnectionLimits, Receiving } from "./guard.js";
import { ConnectionCounts, FrameBudget, RefusalLog, resolveLimits } from "./guard.js";
import type { ListenOptions, Listener, Transport } from "./transport.js";
import { MAX_FRAME_BYTES } from "./wire.js";

export const TOKEN_HEADER = "x-wray-token";

/** TLS material, PEM (the file's contents). */
export interface TlsOptions {
  /** This side's certificate chain: with `key`, servers listen on wss://. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Certificates to trust for wss:// servers (default: the system's). */
  ca?: string | Buffer;
}

export interface WsTransportOptions {
  tls?: TlsOptions;
  limits?: ConnectionLimits;
}

function tokenMatches(given: string | string[] | undefined, token: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  // equal lengths only reach timingSafeEqual; a length mismatch compares b with itself, so the time says nothing either way
  return timingSafeEqual(a.length === b.length ? a : b, b) && a.length === b.length;
}

/** Whether `host` is this machine only (nothing beyond it can connect). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(host);
}

/** The warning a server listening at `host` in clear owes its log (none on loopback, or with TLS). */
export function clearTextWarning(host: string, port: number, secure: boolean): string | undefined {
  if (secure || isLoopback(host)) return undefined;
  return `(wray) WARNING: listening on ${host}:${port} without TLS: the cluster token and all data cross the network in clear. Give a certificate (--tls-cert, --tls-key) or listen on 127.0.0.1 only.`;
}

/** Wires a ws socket to a Connection (on a server, counting its frames' bytes against `budget`). */
function attach(ws: WebSocket, peer: string, log: (line: string) => void, budget?: FrameBudget): Connection {
  ws.binaryType = "nodebuffer";
  const conn = new Connection(
    {
      send(frame, written) {
        if (frame instanceof Uint8Array) return ws.send(frame, { binary: true }, () => written());
        // parts of one frame: fragments of one WebSocket message, joined by the receiver
        for (let i = 0; i < frame.length; i++) {
          const last = i === frame.length - 1;
          ws.send(frame[i]!, { binary: true, fin: last }, last ? () => written() : undefined);
        }
      },
      close(code, reason) {
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
      },
    },
    peer,
    log,
  );
  let receiving: Receiving | undefined;
  if (budget) {
    const socket = (ws as unknown as { _socket: Socket })._socket;
    const r: Receiving = {
      pending: 0,
      lastData: performance.now(),
      drop(why) {
        log(`(wray) closing the connection from ${conn.peer}: ${why}`);
        ws.terminate();
      },
    };
    receiving = r;
    budget.add(r);
    // before ws's own listener, so a frame completed by this chunk is counted, then released by "message"
    socket.prependListener("data", (chunk: Buffer) => budget.data(r, chunk.length, performance.now()));
    const whole = () => budget.whole(r);
    ws.on("ping", whole);
    ws.on("pong", whole);
    ws.on("close", () => budget.remove(r));
  }
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (receiving) budget!.whole(receiving);
    if (!isBinary) {
      log(`(wray) closing the connection from ${conn.peer}: text frame (the protocol is binary)`);
      conn.close("text frame", CLOSE_PROTOCOL);
      return;
    }
    conn.receive(data);
  });
  ws.on("close", (code: number, reason: Buffer) => conn.closed(`closed (${code}${reason.length ? ` ${reason.toString()}` : ""})`, code));
  ws.on("error", (err: Error) => {
    // a frame over maxPayload, bad framing, a reset: this connection only
    log(`(wray) connection ${conn.peer}: ${err.message}`);
    conn.closed(err.message);
  });
  return conn;
}

/**
 * The address peers are told for a server listening on `host`: itself,
 * or for every interface (0.0.0.0, ::) this machine's first external IPv4
 * address (127.0.0.1 when it has none), since "0.0.0.0" reaches nothing
 * from another machine.
 */
export function advertisedAddress(host: string, port: number, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(), scheme: "ws" | "wss" = "ws"): string {
  let shown = host;
  if (host === "0.0.0.0" || host === "::") {
    const external = Object.values(interfaces)
      .flatMap((list) => list ?? [])
      .find((i) => i.family === "IPv4" && !i.internal);
    shown = external?.address ?? "127.0.0.1";
  }
  return `${scheme}://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
}

export class WsTransport implements Transport {
  readonly #tls: TlsOptions | undefined;
  readonly #limits: ConnectionLimits | undefined;

  constructor(options: WsTransportOptions = {}) {
    const tls = options.tls;
    if (tls && (tls.cert === undefined) !== (tls.key === undefined)) throw new TypeError("TLS needs both a certificate and its key (tls.cert and tls.key)");
    this.#tls = tls;
    this.#limits = options.limits;
  }

  async listen(options: ListenOptions, accept: (conn: Connection) => void): Promise<Listener> {
    const log = options.log ?? (() => {});
    if (typeof options.token !== "string" || options.token.length === 0) throw new TypeError("a WebSocket server needs a cluster token (an empty one would let anyone in)");
    const host = options.host ?? "127.0.0.1";
    const port = typeof options.port === "number" ? options.port : 0;
    const limits = resolveLimits(this.#limits);
    const secure = this.#tls?.cert !== undefined;
    const refusals = new RefusalLog(log, limits.logEveryMs);
    const counts = new ConnectionCounts(limits.perAddress, limits.total);
    const budget = new FrameBudget(limits.partialBytes, limits.frameStallMs);
    const conns = new Set<Connection>();
    /** Sockets still in their handshake, by "address:port", with their deadline. */
    const handshakes = new Map<string, ReturnType<typeof setTimeout>>();
    const server: HttpServer = secure ? createHttpsServer({ cert: this.#tls!.cert, key: this.#tls!.key, minVersion: "TLSv1.2" }) : createHttpServer();
    server.headersTimeout = limits.handshakeMs;
    server.requestTimeout = limits.handshakeMs;
    // every TCP connection, before TLS: counted against the caps, and given until the deadline to become a WebSocket
    server.on("connection", (socket: Socket) => {
      const address = socket.remoteAddress ?? "unknown";
      const from = `${address}:${socket.remotePort}`;
      const refused = counts.admit(address);
      if (refused !== undefined) {
        refusals.refuse(from, refused);
        socket.destroy();
        return;
      }
      const timer = setTimeout(() => {
        handshakes.delete(from);
        refusals.refuse(from, `no WebSocket handshake within ${limits.handshakeMs} ms`);
        socket.destroy();
      }, limits.handshakeMs);
      timer.unref();
      handshakes.set(from, timer);
      socket.once("close", () => {
        counts.closed(address);
        clearTimeout(handshakes.get(from));
        handshakes.delete(from);
      });
    });
    server.on("tlsClientError", (e: Error, socket: Socket) => {
      refusals.refuse(`${socket.remoteAddress}:${socket.remotePort}`, `TLS handshake failed (${e.message.split("\n")[0]})`);
      socket.destroy();
    });
    server.on("clientError", (e: NodeJS.ErrnoException, socket: Socket) => {
      refusals.refuse(`${socket.remoteAddress}:${socket.remotePort}`, `bad HTTP request (${e.code ?? e.message})`);
      socket.destroy();
    });
    server.on("request", (_req, res) => {
      res.writeHead(426, { "content-type": "text/plain", connection: "close" });
      res.end("wray: a WebSocket upgrade is required\n");
    });
    const wss = new WebSocketServer({
      server,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      clientTracking: true,
      verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
        if (tokenMatches(info.req.headers[TOKEN_HEADER], options.token)) return done(true);
        refusals.refuse(`${info.req.socket.remoteAddress}:${info.req.socket.remotePort}`, "wrong or missing cluster token");
        done(false, 401, "wray: cluster token required");
      },
    });
    let listening = false;
    // ws re-emits the server's errors as its own: the one that fails listen() is the promise's below
    wss.on("error", (e) => {
      if (listening) log(`(wray) server error: ${e.message}`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", (e: NodeJS.ErrnoException) => {
        wss.close();
        server.close();
        budget.close();
        reject(e.code === "EADDRINUSE" || e.code === "EADDRNOTAVAIL" || e.code === "EACCES" ? new AddressInUseError(host, port, e.code) : e);
      });
      server.listen(port, host);
    });
    listening = true;
    wss.on("connection", (ws, req) => {
      const from = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
      clearTimeout(handshakes.get(from));
      handshakes.delete(from);
      const conn = attach(ws, from, log, budget);
      conns.add(conn);
      conn.onClose(() => conns.delete(conn));
      accept(conn);
    });
    const addr = server.address() as AddressInfo;
    const warning = clearTextWarning(addr.address, addr.port, secure);
    if (warning) log(warning);
    return {
      address: advertisedAddress(addr.address, addr.port, undefined, secure ? "wss" : "ws"),
      close: () =>
        new Promise<void>((resolve) => {
          for (const c of conns) c.close("server shutting down");
          for (const ws of wss.clients) ws.terminate();
          for (const t of handshakes.values()) clearTimeout(t);
          handshakes.clear();
          refusals.close();
          budget.close();
          wss.close(() => {
            server.closeAllConnections();
            server.close(() => resolve());
          });
        }),
    };
  }

  connect(address: string, token: string, log: (line: string) => void = () => {}): Promise<Connection> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(address, { headers: { [TOKEN_HEADER]: token }, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, ...(this.#tls?.ca === undefined ? {} : { ca: this.#tls.ca }) });
      } catch (e) {
        reject(new TypeError(`bad cluster address '${address}': ${(e as Error).message}`));
        return;
      }
      const fail = (e: Error) => {
        ws.removeAllListeners();
        ws.on("error", () => {});
        reject(e);
      };
      ws.once("unexpected-response", (_req, res) => {
        const status = res.statusCode;
        res.resume();
        ws.terminate();
        fail(status === 401 ? new UnauthorizedError(address) : new Error(`${address} answered HTTP ${status}, not a WebSocket upgrade`));
      });
      ws.once("error", (e: NodeJS.ErrnoException) => fail(new ConnectionFailedError(address, e.code ?? "", e.message)));
      ws.once("open", () => {
        ws.removeAllListeners();
        const socket = (ws as unknown as { _socket?: { setNoDelay(v: boolean): void; localAddress?: string } })._socket;
        socket?.setNoDelay(true);
        const conn = attach(ws, address, log);
        conn.localAddress = socket?.localAddress;
        resolve(conn);
      });
    });
  }
}

/**
 * Connections over WebSockets (npm `ws`): binary frames only, no
 * compression, frames up to MAX_FRAME_BYTES. The cluster token travels in
 * the upgrade request's `x-wray-token` header and is checked before the
 * WebSocket exists: a peer without it gets HTTP 401, is logged, and costs
 * the server nothing more.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { NetworkInterfaceInfo } from "node:os";
import { networkInterfaces } from "node:os";
import WebSocket, { WebSocketServer } from "ws";
import { CLOSE_PROTOCOL, Connection } from "./connection.js";
import { AddressInUseError, ConnectionFailedError, UnauthorizedError } from "./errors.js";
import type { ListenOptions, Listener, Transport } from "./transport.js";
import { MAX_FRAME_BYTES } from "./wire.js";

export const TOKEN_HEADER = "x-wray-token";

function tokenMatches(given: string | string[] | undefined, token: string): boolean {
  if (token === "") return true;
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Wires a ws socket to a Connection. */
function attach(ws: WebSocket, peer: string, log: (line: string) => void): Connection {
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
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      log(`(wray) closing the connection from ${conn.peer}: text frame (the protocol is binary)`);
      conn.close("text frame", CLOSE_PROTOCOL);
      return;
    }
    conn.receive(data);
  });
  ws.on("close", (code: number, reason: Buffer) => conn.closed(`closed (${code}${reason.length ? ` ${reason.toString()}` : ""})`));
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
export function advertisedAddress(host: string, port: number, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string {
  let shown = host;
  if (host === "0.0.0.0" || host === "::") {
    const external = Object.values(interfaces)
      .flatMap((list) => list ?? [])
      .find((i) => i.family === "IPv4" && !i.internal);
    shown = external?.address ?? "127.0.0.1";
  }
  return `ws://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
}

export class WsTransport implements Transport {
  async listen(options: ListenOptions, accept: (conn: Connection) => void): Promise<Listener> {
    const log = options.log ?? (() => {});
    const host = options.host ?? "127.0.0.1";
    const port = typeof options.port === "number" ? options.port : 0;
    const conns = new Set<Connection>();
    const wss = new WebSocketServer({
      host,
      port,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      clientTracking: true,
      verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
        if (tokenMatches(info.req.headers[TOKEN_HEADER], options.token)) return done(true);
        log(`(wray) refused a connection from ${info.req.socket.remoteAddress}:${info.req.socket.remotePort}: wrong or missing cluster token`);
        done(false, 401, "wray: cluster token required");
      },
    });
    await new Promise<void>((resolve, reject) => {
      wss.once("listening", resolve);
      wss.once("error", (e: NodeJS.ErrnoException) => {
        wss.close();
        reject(e.code === "EADDRINUSE" || e.code === "EADDRNOTAVAIL" || e.code === "EACCES" ? new AddressInUseError(host, port, e.code) : e);
      });
    });
    wss.on("error", (e) => log(`(wray) server error: ${e.message}`));
    wss.on("connection", (ws, req) => {
      const conn = attach(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`, log);
      conns.add(conn);
      conn.onClose(() => conns.delete(conn));
      accept(conn);
    });
    const addr = wss.address() as AddressInfo;
    return {
      address: advertisedAddress(addr.address, addr.port),
      close: () =>
        new Promise<void>((resolve) => {
          for (const c of conns) c.close("server shutting down");
          for (const ws of wss.clients) ws.terminate();
          wss.close(() => resolve());
        }),
    };
  }

  connect(address: string, token: string, log: (line: string) => void = () => {}): Promise<Connection> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(address, { headers: { [TOKEN_HEADER]: token }, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
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

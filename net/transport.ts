import type { Connection } from "./connection.js";

/** A server accepting connections (the ws server, or an in-process endpoint). */
export interface Listener {
  /** Where peers connect: `ws://HOST:PORT` or `inproc://NAME`. */
  readonly address: string;
  /** Stops accepting and closes the connections it accepted. */
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Interface to bind (ws only). Default 127.0.0.1. */
  host?: string;
  /** Port (ws), 0 for any free one; or the endpoint's name (in-process). */
  port?: number | string;
  /** The cluster token a peer must present; "" lets anyone in. */
  token: string;
  /** Where refusals and protocol errors are logged. */
  log?: (line: string) => void;
}

/**
 * How connections are made: over WebSockets between processes, or in one
 * process for the embedded mode and tests. Both hand out the same
 * `Connection`. `accept` must set `conn.handler` before it returns.
 */
export interface Transport {
  listen(options: ListenOptions, accept: (conn: Connection) => void): Promise<Listener>;
  /** Connects to `address` presenting `token`; rejects with UnauthorizedError when refused. */
  connect(address: string, token: string, log?: (line: string) => void): Promise<Connection>;
}

import { WrayError } from "../common/errors.js";

/** Bytes from a peer that break the wire protocol: the connection that sent them is closed. */
export class WireError extends WrayError {
  constructor(message: string) {
    super("WRAY_PROTOCOL_ERROR", `malformed frame: ${message}`);
  }
}

/**
 * A peer asked for something the protocol does not allow here: a message
 * this side does not serve, a node registered twice, a node the control
 * store does not know.
 */
export class ProtocolError extends WrayError {
  constructor(message: string) {
    super("WRAY_PROTOCOL_ERROR", message);
  }
}

/**
 * An authenticated peer asked for something its role may not do: a raw
 * write to the control store's tables (the head writes them), a change to
 * an actor that runs elsewhere.
 */
export class PermissionDeniedError extends WrayError {
  constructor(message: string) {
    super("WRAY_PERMISSION_DENIED", message);
  }
}

/** The connection closed before the request was answered (or was closed when it was made). */
export class ConnectionClosedError extends WrayError {
  readonly peer: string;
  constructor(peer: string, why: string) {
    super("WRAY_CONNECTION_CLOSED", `connection to ${peer} closed: ${why}`);
    this.peer = peer;
  }
}

/** The peer refused the cluster token (or none was given). */
export class UnauthorizedError extends WrayError {
  readonly address: string;
  constructor(address: string) {
    super("WRAY_UNAUTHORIZED", `${address} refused the connection: wrong or missing cluster token (see --token-file)`);
    this.address = address;
  }
}

/** A connection could not be made: nothing listens there, the host is unreachable, or the name does not resolve. */
export class ConnectionFailedError extends WrayError {
  readonly address: string;
  /** The system's code (ECONNREFUSED, EHOSTUNREACH, ENOTFOUND, ...), when it gave one. */
  readonly reason: string;
  constructor(address: string, reason: string, detail: string) {
    const hint =
      reason === "ECONNREFUSED"
        ? "nothing is listening there: is the head running (`wray start --head`, `wray status`), and is the port right?"
        : reason === "ENOTFOUND" || reason === "EAI_AGAIN"
          ? "the host name does not resolve: check the address"
          : "check the address, and that this machine can reach it (routes, firewalls)";
    super("WRAY_CONNECTION_FAILED", `cannot connect to ${address} (${detail}): ${hint}`);
    this.address = address;
    this.reason = reason;
  }
}

/** A server could not listen: the address and port are taken (or not this machine's). */
export class AddressInUseError extends WrayError {
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, reason: string) {
    super(
      "WRAY_ADDRESS_IN_USE",
      reason === "EADDRNOTAVAIL"
        ? `cannot listen on ${host}:${port}: ${host} is not an address of this machine`
        : `cannot listen on ${host}:${port}: the port is in use (another wray head? \`wray stop\` stops this machine's nodes; or pick another port)`,
    );
    this.host = host;
    this.port = port;
  }
}

/**
 * A request failed on the peer. `remoteCode` is the code the peer gave
 * (a WrayErrorCode of its own, or WRAY_REMOTE_ERROR for anything else).
 */
export class RemoteError extends WrayError {
  readonly remoteCode: string;
  constructor(remoteCode: string, message: string) {
    super("WRAY_REMOTE_ERROR", message);
    this.remoteCode = remoteCode;
  }
}

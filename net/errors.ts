import { WrayError } from "../common/errors.js";

/** Bytes from a peer that break the wire protocol: the connection that sent them is closed. */
export class WireError extends WrayError {
  constructor(message: string) {
    super("WRAY_PROTOCOL_ERROR", `malformed frame: ${message}`);
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

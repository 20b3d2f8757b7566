/**
 * The network: the wire format (message types, frames), connections with
 * requests and batching, and the transports that carry them (WebSockets
 * between processes, in-process pairs for the embedded mode and tests),
 * with what a server bounds of its peers (guard.ts).
 */
export { MSG, MAX_FRAME_BYTES, FRAME_TARGET_BYTES, CHUNK_BYTES, ChunkReply, FrameWriter, chunkReplyHeader, decodeFrame, encodeMessage, typeName } from "./wire.js";
export type {
  MessageType,
  Message,
  FailBody,
  GcsKeyBody,
  GcsPutBody,
  GcsScanBody,
  GcsChannelBody,
  GcsEventBody,
  NodeInfo,
  HeartbeatBody,
  WireArg,
  WireTask,
  WireResult,
  TaskDoneBody,
  PullBody,
  PullReply,
  PlacedReply,
  FreeBody,
  ActorKillBody,
  ActorStateBody,
  ActorCheckpointBody,
  TaskCancelBody,
  StateQueryBody,
  GroupCreateBody,
  GroupPrepareBody,
  GroupBundleBody,
  GroupIdBody,
  GroupInfo,
  FunctionPutBody,
  ObjectLocationBody,
  LogBody,
  JobSubmitBody,
  JobIdBody,
  JobLogsBody,
  JobListBody,
} from "./wire.js";
export { advertisedAddress } from "./ws.js";
export { Connection, WIRE_TOTALS, HIGH_WATER_BYTES, CLOSE_NORMAL, CLOSE_PROTOCOL, CLOSE_UNAUTHORIZED, CLOSE_FENCED } from "./connection.js";
export type { Link, Handler } from "./connection.js";
export type { Transport, Listener, ListenOptions } from "./transport.js";
export { WsTransport, TOKEN_HEADER, isLoopback, clearTextWarning } from "./ws.js";
export type { TlsOptions, WsTransportOptions } from "./ws.js";
export type { ConnectionLimits } from "./guard.js";
export { InprocTransport } from "./inproc.js";
export { WireError, ProtocolError, PermissionDeniedError, ConnectionClosedError, UnauthorizedError, RemoteError, ConnectionFailedError, AddressInUseError } from "./errors.js";

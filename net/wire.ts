/**
 * The wire format between wray processes: message types and their
 * encoding, apart from any transport (testable with bytes alone).
 *
 * A *frame* (one WebSocket binary message, or one in-process delivery)
 * holds one or more *messages* back to back, each a MessagePack array
 * `[type, id, body]`:
 * - `type` names the message (MSG below) and decides the shape of `body`;
 * - `id` pairs a request with its REPLY/FAIL (0: a notification, no reply).
 *
 * Under load a connection packs every message written in one turn of the
 * event loop into as few frames as it can (FRAME_TARGET_BYTES each), so
 * per-frame costs are paid once per batch. A frame larger than
 * MAX_FRAME_BYTES is refused by the receiver; a message that does not
 * decode, has an unknown type or a body of the wrong shape is a
 * WireError, and the connection that sent it is closed.
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { NODE_ID, Out, readDone, readTask, writeDone, writeTask } from "./codec.js";
import { WireError } from "./errors.js";

/** Message types. Numbers are part of the protocol: never reuse one. */
export const MSG = {
  REPLY: 1,
  FAIL: 2,
  // control store
  GCS_GET: 10,
  GCS_PUT: 11,
  GCS_DELETE: 12,
  GCS_SCAN: 13,
  GCS_SUBSCRIBE: 14,
  GCS_UNSUBSCRIBE: 15,
  GCS_EVENT: 16,
  /** A component's bytes for the functions table: the head checks they hash to the key and keeps the first. */
  FUNCTION_PUT: 17,
  // nodes
  NODE_REGISTER: 20,
  NODE_HEARTBEAT: 21,
  // tasks
  TASK_SUBMIT: 30,
  TASK_RUN: 31,
  TASK_DONE: 32,
  /** Cancel a task (or actor call) this node runs, or will get: its owner sends it. */
  TASK_CANCEL: 33,
  // objects
  OBJECT_PULL: 40,
  OBJECT_FREE: 41,
  /** A node holds an object: the head records it in the objects table. */
  OBJECT_LOCATION: 42,
  // actors
  ACTOR_CREATE: 50,
  ACTOR_CALL: 51,
  ACTOR_KILL: 52,
  /** The node running an actor reports it started (its methods) or died: the head updates its record. */
  ACTOR_STATE: 53,
  /** An actor saved a checkpoint: its node sends it to the actor's owner, with the calls it covers. */
  ACTOR_CHECKPOINT: 54,
  // cluster
  CLUSTER_STATUS: 60,
  CLUSTER_STOP: 61,
  // guest logs, to their driver
  LOG: 70,
  // placement groups: a client asks the head (create, remove, look up by name)...
  PG_CREATE: 80,
  PG_REMOVE: 81,
  PG_GET: 82,
  // ...and the head reserves bundles on nodes in two phases
  PG_PREPARE: 83,
  PG_COMMIT: 84,
  PG_ABORT: 85,
  PG_DROP: 86,
  // the state API: nodes send their task events to the head; clients ask it
  TASK_EVENTS: 90,
  STATE_QUERY: 91,
  /** The head asks a node what its object store holds (`wray memory`). */
  NODE_MEMORY: 92,
  // jobs: a client asks the head, which runs them (host/jobs)
  JOB_SUBMIT: 100,
  JOB_LIST: 101,
  JOB_GET: 102,
  JOB_LOGS: 103,
  JOB_STOP: 104,
  /** The head tells every node that a job has ended: the tasks still running or queued for it end too. */
  JOB_ENDED: 105,
} as const;

export type MessageType = (typeof MSG)[keyof typeof MSG];

/** The biggest frame a receiver accepts (a pulled chunk plus headers fits with room). */
export const MAX_FRAME_BYTES = 64 << 20;
/** Frames are cut near this size when many messages are queued. */
export const FRAME_TARGET_BYTES = 1 << 20;
/** Object bytes travel in chunks of this size. */
export const CHUNK_BYTES = 4 << 20;

// ---- bodies ---------------------------------------------------------------------------------

export type { JobSubmitBody, JobIdBody, JobLogsBody, JobListBody } from "./messages.js";
export type { FailBody, FunctionPutBody, ObjectLocationBody, ActorStateBody, ActorCheckpointBody, GcsKeyBody, GcsPutBody, GcsScanBody, GcsChannelBody, GcsEventBody, NodeInfo, HeartbeatBody, WireArg, WireTask, LogBody, PlacedReply, WireResult, TaskDoneBody, TaskCancelBody, StateQueryBody, GroupCreateBody, GroupPrepareBody, GroupBundleBody, GroupIdBody, GroupInfo, PullBody, PullReply, FreeBody, ActorKillBody } from "./messages.js";
import type { TaskDoneBody, WireTask } from "./messages.js";

// ---- shape checks ---------------------------------------------------------------------------

type Check = (v: unknown) => boolean;

const str: Check = (v) => typeof v === "string";
const uint: Check = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0;
const num: Check = (v) => typeof v === "number" && Number.isFinite(v);
const bool: Check = (v) => typeof v === "boolean";
const bin: Check = (v) => v instanceof Uint8Array;
const any: Check = () => true;
const bin16: Check = (v) => v instanceof Uint8Array && v.length === 16;
const bin20: Check = (v) => v instanceof Uint8Array && v.length === 20;
const optional =
  (c: Check): Check =>
  (v) =>
    v === undefined || c(v);
const arrayOf =
  (c: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(c);
const record =
  (c: Check): Check =>
  (v) =>
    isPlainObject(v) && Object.values(v as object).every(c);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

const shape =
  (fields: Record<string, Check>): Check =>
  (v) => {
    if (!isPlainObject(v)) return false;
    for (const k in fields) if (!fields[k]!(v[k])) return false;
    return true;
  };

const nodeId: Check = (v) => typeof v === "string" && NODE_ID.test(v);
/** A resource shape's entries: [name, fixed-point units] pairs. */
const resourceEntries: Check = arrayOf((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === "string" && (p[0] as string).length > 0 && uint(p[1]));
const hex =
  (chars: number): Check =>
  (v) =>
    typeof v === "string" && v.length === chars && /^[0-9a-f]*$/.test(v);
const nodeInfo = shape({ nodeId, address: str, resources: record(uint), driver: bool, pid: uint, hostname: str, startedAt: num, rejoin: optional(bool) });

const BODY: Record<number, Check> = {
  [MSG.REPLY]: any,
  [MSG.FAIL]: shape({ code: str, message: str, error: optional(bin) }),
  [MSG.GCS_GET]: shape({ table: str, key: str }),
  [MSG.GCS_PUT]: shape({ table: str, key: str, value: any }),
  [MSG.GCS_DELETE]: shape({ table: str, key: str }),
  [MSG.GCS_SCAN]: shape({ table: str, prefix: str }),
  [MSG.GCS_SUBSCRIBE]: shape({ channel: str }),
  [MSG.GCS_UNSUBSCRIBE]: shape({ channel: str }),
  [MSG.GCS_EVENT]: shape({ channel: str, key: str, value: any }),
  [MSG.FUNCTION_PUT]: shape({ hash: hex(64), bytes: bin }),
  [MSG.NODE_REGISTER]: nodeInfo,
  [MSG.NODE_HEARTBEAT]: shape({
    nodeId: str,
    available: record(uint),
    queued: uint,
    queueMs: num,
    taskMs: num,
    objects: uint,
    storeUsed: uint,
    storeCapacity: uint,
    actors: uint,
  }),
  // binary layouts (codec.ts), checked as they are read
  [MSG.TASK_SUBMIT]: bin,
  [MSG.TASK_RUN]: bin,
  [MSG.TASK_DONE]: bin,
  [MSG.TASK_CANCEL]: shape({ task: bin16, force: bool, recursive: bool }),
  [MSG.OBJECT_PULL]: shape({ id: bin20, offset: uint, length: uint }),
  [MSG.OBJECT_FREE]: shape({ ids: arrayOf(bin20) }),
  [MSG.OBJECT_LOCATION]: shape({ object: hex(40), size: uint, owner: optional(nodeId) }),
  [MSG.ACTOR_CREATE]: bin,
  [MSG.ACTOR_CALL]: bin,
  [MSG.ACTOR_KILL]: shape({ actor: bin16 }),
  [MSG.ACTOR_CHECKPOINT]: shape({ actor: bin16, value: bin, covered: arrayOf(bin16) }),
  [MSG.ACTOR_STATE]: shape({ actor: hex(32), state: (v) => v === "alive" || v === "dead", methods: arrayOf(str), death: optional(str), restarts: optional(uint) }),
  [MSG.CLUSTER_STATUS]: any,
  [MSG.CLUSTER_STOP]: any,
  [MSG.LOG]: shape({ node: nodeId, records: arrayOf(shape({ level: str, text: str })) }),
  [MSG.PG_CREATE]: shape({ id: hex(32), bundles: arrayOf(resourceEntries), strategy: str, name: optional(str) }),
  [MSG.PG_REMOVE]: shape({ id: hex(32) }),
  [MSG.PG_GET]: shape({ name: str }),
  [MSG.PG_PREPARE]: shape({ id: hex(32), index: uint, bundle: resourceEntries }),
  [MSG.PG_COMMIT]: shape({ id: hex(32), index: uint }),
  [MSG.PG_ABORT]: shape({ id: hex(32), index: uint }),
  [MSG.PG_DROP]: shape({ id: hex(32) }),
  [MSG.TASK_EVENTS]: shape({
    node: str,
    n: uint,
    ids: bin,
    states: bin,
    kinds: bin,
    times: bin,
    isos: bin,
    ms: bin,
    sched: bin,
    names: arrayOf(str),
    nameIx: bin,
    jobs: arrayOf(str),
    jobIx: bin,
    actors: arrayOf(str),
    actorIx: bin,
    errors: arrayOf(shape({ at: uint, code: str, name: str, message: str, stack: optional(str) })),
    dropped: uint,
  }),
  [MSG.NODE_MEMORY]: shape({ limit: uint }),
  [MSG.JOB_SUBMIT]: shape({ component: hex(64), entry: str, args: bin, resources: optional(record(num)), timeoutMs: optional(uint), name: optional(str) }),
  [MSG.JOB_LIST]: shape({ limit: optional(uint) }),
  [MSG.JOB_GET]: shape({ id: str }),
  [MSG.JOB_LOGS]: shape({ id: str, since: optional(uint), limit: optional(uint) }),
  [MSG.JOB_STOP]: shape({ id: str }),
  [MSG.JOB_ENDED]: shape({ job: nodeId }),
  [MSG.STATE_QUERY]: shape({ what: (v) => ["tasks", "task", "summary", "timeline", "actors", "nodes", "logs", "memory"].includes(v as string), filter: optional(record(str)), limit: optional(uint), id: optional(str), since: optional(uint) }),
};

/** One decoded message. `body`'s shape was checked against `type`. */
export interface Message {
  type: MessageType;
  id: number;
  body: unknown;
}

// ---- encoding ----------------------------------------------------------------------------------

/** Types whose bodies travel in a fixed binary layout (codec.ts). */
const BINARY = new Set<number>([MSG.TASK_SUBMIT, MSG.TASK_RUN, MSG.ACTOR_CREATE, MSG.ACTOR_CALL, MSG.TASK_DONE]);

/**
 * Builds frames: `add` appends one encoded message, `take` hands out the
 * frame so far. One writer per connection (it reuses its buffer).
 */
export class FrameWriter {
  readonly #encoder = new Encoder({ ignoreUndefined: true });
  #out = new Out(new Uint8Array(64 * 1024));
  #count = 0;

  /** A large message alone in its frame (one copy out of the encoder, no regrowth of the buffer). */
  #solo: Uint8Array | undefined;

  /** Appends `[type, id, body]`; returns the frame's size so far. Throws (adding nothing) if `body` cannot be encoded. */
  add(type: MessageType, id: number, body: unknown): number {
    if (this.#solo !== undefined) this.#unsolo();
    const out = this.#out;
    if (BINARY.has(type)) {
      this.#addBinary(type, id, body);
      this.#count++;
      return out.at;
    }
    const bytes = this.#encoder.encodeSharedRef([type, id, body]);
    if (out.at === 0 && bytes.length >= FRAME_TARGET_BYTES) {
      this.#solo = bytes.slice();
      this.#count = 1;
      return this.#solo.length;
    }
    out.raw(bytes);
    this.#count++;
    return out.at;
  }

  /** Keeps order: the solo message starts the frame. */
  #unsolo(): void {
    const solo = this.#solo!;
    this.#solo = undefined;
    this.#out.raw(solo);
  }

  /** `[type, id, bin]` in MessagePack, the bin holding the body's binary layout, written in place. */
  #addBinary(type: MessageType, id: number, body: unknown): void {
    const o = this.#out;
    const start = o.at;
    o.room(11);
    o.bytes[o.at++] = 0x93; // array of 3
    o.bytes[o.at++] = type; // positive fixint
    o.bytes[o.at++] = 0xce; // uint 32
    o.view.setUint32(o.at, id, false);
    o.at += 4;
    o.bytes[o.at++] = 0xc6; // bin 32
    const lenAt = o.at;
    o.at += 4;
    try {
      if (type === MSG.TASK_DONE) writeDone(o, body as TaskDoneBody);
      else writeTask(o, body as WireTask);
    } catch (e) {
      o.at = start;
      throw e;
    }
    o.view.setUint32(lenAt, o.at - lenAt - 4, false);
  }

  get length(): number {
    return this.#solo?.length ?? this.#out.at;
  }

  get count(): number {
    return this.#count;
  }

  /** The frame (a copy the caller owns); the writer starts a new one. */
  take(): Uint8Array {
    this.#count = 0;
    if (this.#solo !== undefined) {
      const solo = this.#solo;
      this.#solo = undefined;
      return solo;
    }
    const frame = this.#out.bytes.slice(0, this.#out.at);
    this.#out.at = 0;
    if (this.#out.bytes.length > 4 * FRAME_TARGET_BYTES) this.#out = new Out(new Uint8Array(64 * 1024));
    return frame;
  }
}

/**
 * A PullReply whose bytes go out without being copied into a frame: the
 * connection sends the message's header and `data` as the two parts of one
 * frame (see `chunkReplyHeader`). The receiver decodes an ordinary
 * `{ size, data }` reply.
 */
export class ChunkReply {
  constructor(
    readonly size: number,
    readonly data: Uint8Array,
    /** Called once the link no longer holds `data` (written, or the connection gone). */
    readonly done?: () => void,
  ) {}
}

/** Wider encodings that pad a chunk reply's header by 0-7 bytes: [array, "size" key, "data" key] extra bytes. */
const CHUNK_PADS: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [0, 1, 0],
  [0, 2, 0],
  [0, 2, 1],
  [0, 4, 0],
  [0, 4, 1],
  [0, 4, 2],
  [2, 4, 1],
];

/**
 * MessagePack for `[REPLY, id, { size, data: <bin32 header> }]`, to be
 * followed by `chunk.data`. Its length is the data's offset modulo 8 (wider
 * forms of the array and key headers pad it), so in the joined frame, and
 * in the receiver's copy of it, the bytes lie as they lay in the sender's
 * store: V8 copies shared memory word by word only between equal offsets
 * modulo 8 (common/copy.ts), and a store keeps an object's bytes where
 * their header puts them.
 */
export function chunkReplyHeader(id: number, chunk: ChunkReply): Uint8Array {
  const h = new Uint8Array(48);
  const v = new DataView(h.buffer);
  let at = 0;
  const big = chunk.size > 0xffff_ffff;
  const put = (...b: number[]) => {
    h.set(b, at);
    at += b.length;
  };
  // the shortest forms: fixarray, uint 32 id, fixmap, fixstr keys, the size, bin 32
  const shortest = 1 + 1 + 5 + 1 + 5 + (big ? 9 : 5) + 5 + 5;
  const [arrayPad, sizePad, dataPad] = CHUNK_PADS[(chunk.data.byteOffset - shortest) & 7]!;
  const key = (pad: number, name: number[]) => {
    if (pad === 0) put(0xa0 | name.length); // fixstr
    else if (pad === 1) put(0xd9, name.length); // str 8
    else if (pad === 2) put(0xda, 0, name.length); // str 16
    else put(0xdb, 0, 0, 0, name.length); // str 32
    put(...name);
  };
  if (arrayPad) put(0xdc, 0, 3); // array 16 of 3
  else put(0x93); // array of 3
  put(MSG.REPLY, 0xce); // positive fixint; uint 32
  v.setUint32(at, id, false);
  at += 4;
  put(0x82); // map of 2
  key(sizePad, [0x73, 0x69, 0x7a, 0x65]); // "size"
  if (big) {
    put(0xcb); // float 64 (exact below 2^53)
    v.setFloat64(at, chunk.size, false);
    at += 8;
  } else {
    put(0xce); // uint 32
    v.setUint32(at, chunk.size, false);
    at += 4;
  }
  key(dataPad, [0x64, 0x61, 0x74, 0x61]); // "data"
  put(0xc6); // bin 32
  v.setUint32(at, chunk.data.length, false);
  at += 4;
  return h.subarray(0, at);
}

/** One message as a frame of its own. */
export function encodeMessage(type: MessageType, id: number, body: unknown): Uint8Array {
  const w = new FrameWriter();
  w.add(type, id, body);
  return w.take();
}

const decoder = new Decoder();

/**
 * The messages of a frame, each checked. Throws WireError for a frame too
 * large, bytes that are not MessagePack, or a message of the wrong shape.
 * Binary fields of the messages are views into `frame`.
 */
export function decodeFrame(frame: Uint8Array): Message[] {
  if (frame.length === 0) throw new WireError("empty frame");
  if (frame.length > MAX_FRAME_BYTES) throw new WireError(`frame of ${frame.length} bytes is over the limit of ${MAX_FRAME_BYTES}`);
  const out: Message[] = [];
  let items: Iterable<unknown>;
  try {
    items = [...decoder.decodeMulti(frame)];
  } catch (e) {
    throw new WireError(`frame is not MessagePack: ${(e as Error).message}`);
  }
  for (const m of items) {
    if (!Array.isArray(m) || m.length !== 3) throw new WireError("message is not a [type, id, body] array");
    const [type, id, body] = m as [unknown, unknown, unknown];
    if (typeof type !== "number" || !(type in BODY)) throw new WireError(`unknown message type ${String(type)}`);
    if (!uint(id) || (id as number) > 0xffff_ffff) throw new WireError(`bad request id ${String(id)}`);
    if (!BODY[type]!(body)) throw new WireError(`message ${typeName(type)} has a body of the wrong shape`);
    out.push({ type: type as MessageType, id: id as number, body: BINARY.has(type) ? readBinary(type, body as Uint8Array) : body });
  }
  return out;
}

function readBinary(type: number, body: Uint8Array): unknown {
  try {
    return type === MSG.TASK_DONE ? readDone(body) : readTask(body);
  } catch (e) {
    if (e instanceof WireError) throw new WireError(`message ${typeName(type)}: ${e.message}`);
    throw e;
  }
}

const NAMES = new Map<number, string>(Object.entries(MSG).map(([k, v]) => [v, k]));

/** The name of a message type, for logs and errors. */
export function typeName(type: number): string {
  return NAMES.get(type) ?? `#${type}`;
}

/**
 * One connection between two wray processes, over any link that carries
 * frames (a WebSocket, or an in-process pair): request IDs and replies,
 * batching of the messages written in one turn into few frames, and
 * back-pressure accounting.
 *
 * Design assumptions:
 * - Writes never block and never fail at the call: messages are queued
 *   and flushed in a microtask, so a burst of `notify`/`request` calls made
 *   in one synchronous run goes out as a few frames (cut near
 *   FRAME_TARGET_BYTES). A single lone request still leaves in the same
 *   turn, so round trips pay no timer.
 * - Back-pressure is the caller's choice: `buffered` counts bytes handed to
 *   the link and not yet written out; senders of bulk data (object chunks,
 *   floods of tasks) `await drain()` while it is over HIGH_WATER_BYTES.
 * - A malformed frame is the peer's fault: it is logged and this
 *   connection closed, nothing else. Requests in flight on a connection
 *   that closes fail with ConnectionClosedError.
 */
import { decodeKnownError, encodeError } from "../common/error-codec.js";
import { ConnectionClosedError, RemoteError, WireError } from "./errors.js";
import type { FailBody, Message, MessageType } from "./wire.js";
import { ChunkReply, FRAME_TARGET_BYTES, FrameWriter, MSG, chunkReplyHeader, decodeFrame, typeName } from "./wire.js";

/** Everything this process's connections sent and received since it started (metrics read these). */
export const WIRE_TOTALS = { framesIn: 0, framesOut: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };

/** What carries frames for a connection (a transport makes one per socket). */
export interface Link {
  /** Sends one frame (given whole, or as parts to be joined); `written` is called once the link no longer holds it. */
  send(frame: Uint8Array | readonly Uint8Array[], written: () => void): void;
  /** Closes the link; the transport then calls `Connection.closed`. */
  close(code: number, reason: string): void;
}

/**
 * Handles a message. For a request (id ≠ 0) the value returned (or
 * awaited) is the reply and a throw becomes a FAIL; for a notification
 * the result is ignored.
 */
export type Handler = (msg: Message, conn: Connection) => unknown;

/** Senders of bulk data wait while more than this is buffered. */
export const HIGH_WATER_BYTES = 16 << 20;
const LOW_WATER_BYTES = 4 << 20;

/** Close codes (WebSocket's 4000–4999 are the application's). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_PROTOCOL = 1002;
export const CLOSE_UNAUTHORIZED = 4001;
/** The head declared the node on this connection dead: it must not act as that node again (fencing). */
export const CLOSE_FENCED = 4002;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class Connection {
  /** Who is on the other side, for messages (an address, or a node ID once known). */
  peer: string;
  /** Handles what the peer sends; set it before the first frame arrives. */
  handler: Handler | undefined;
  /** Free for the owner: e.g. the node ID of the peer once it registered. */
  tag: string | undefined;
  /** The address of this end, for a connection this side made over IP (how this machine reaches the peer). */
  localAddress: string | undefined;
  readonly #link: Link;
  readonly #log: (line: string) => void;
  readonly #writer = new FrameWriter();
  readonly #pending = new Map<number, Pending>();
  readonly #onClose = new Set<(why: string) => void>();
  #drains: (() => void)[] = [];
  #nextId = 1;
  #flushQueued = false;
  #buffered = 0;
  #closed: string | undefined;
  /** Frames and messages received, for stats. */
  framesIn = 0;
  messagesIn = 0;
  framesOut = 0;
  messagesOut = 0;

  constructor(link: Link, peer: string, log: (line: string) => void = () => {}) {
    this.#link = link;
    this.peer = peer;
    this.#log = log;
  }

  get isClosed(): boolean {
    return this.#closed !== undefined;
  }

  /** Bytes handed to the link and not yet written out. */
  get buffered(): number {
    return this.#buffered + this.#writer.length;
  }

  /** True while senders of bulk data should wait (`drain()`). */
  get congested(): boolean {
    return this.buffered > HIGH_WATER_BYTES;
  }

  /** Resolves once the buffered bytes fall under the low-water mark (at once if they are). */
  drain(): Promise<void> {
    if (this.buffered <= LOW_WATER_BYTES || this.#closed !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.#drains.push(resolve));
  }

  /** Calls `fn` when the connection closes (at once if it has). */
  onClose(fn: (why: string) => void): void {
    if (this.#closed !== undefined) fn(this.#closed);
    else this.#onClose.add(fn);
  }

  offClose(fn: (why: string) => void): void {
    this.#onClose.delete(fn);
  }

  /** Sends a message that wants no reply. Dropped silently once closed. */
  notify(type: MessageType, body: unknown): void {
    if (this.#closed !== undefined) return;
    this.#write(type, 0, body);
  }

  /** Sends a request; resolves with the reply, rejects with RemoteError, ConnectionClosedError, or on timeout. */
  request<T = unknown>(type: MessageType, body: unknown, timeoutMs = 0): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(new ConnectionClosedError(this.peer, this.#closed));
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffff_fff0 ? 1 : this.#nextId + 1;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { resolve: resolve as (v: unknown) => void, reject, timer: undefined };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.#pending.delete(id);
          reject(new ConnectionClosedError(this.peer, `no reply to ${typeName(type)} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.#pending.set(id, p);
      this.#write(type, id, body);
    });
  }

  #write(type: MessageType, id: number, body: unknown): void {
    this.messagesOut++;
    WIRE_TOTALS.messagesOut++;
    const len = this.#writer.add(type, id, body);
    if (len >= FRAME_TARGET_BYTES) this.flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Sends what is queued now (normally done in a microtask). */
  flush(): void {
    this.#flushQueued = false;
    if (this.#writer.count === 0 || this.#closed !== undefined) return;
    const frame = this.#writer.take();
    this.#sendFrame(frame, frame.length, undefined);
  }

  /** Hands a frame (or its parts, `size` bytes in all) to the link, counted as buffered until written. */
  #sendFrame(frame: Uint8Array | readonly Uint8Array[], size: number, written: (() => void) | undefined): void {
    this.#buffered += size;
    this.framesOut++;
    WIRE_TOTALS.framesOut++;
    WIRE_TOTALS.bytesOut += size;
    this.#link.send(frame, () => {
      written?.();
      this.#buffered -= size;
      if (this.#drains.length > 0 && this.buffered <= LOW_WATER_BYTES) this.#wake();
    });
  }

  #wake(): void {
    const d = this.#drains;
    this.#drains = [];
    for (const f of d) f();
  }

  /** A frame from the link (transports call this). */
  receive(frame: Uint8Array): void {
    if (this.#closed !== undefined) return;
    let msgs: Message[];
    try {
      msgs = decodeFrame(frame);
    } catch (e) {
      const why = e instanceof WireError ? e.message : String(e);
      this.#log(`(wray) closing the connection from ${this.peer}: ${why}`);
      this.close(why, CLOSE_PROTOCOL);
      return;
    }
    this.framesIn++;
    this.messagesIn += msgs.length;
    WIRE_TOTALS.framesIn++;
    WIRE_TOTALS.messagesIn += msgs.length;
    WIRE_TOTALS.bytesIn += frame.length;
    for (const m of msgs) this.#dispatch(m);
  }

  #dispatch(m: Message): void {
    if (m.type === MSG.REPLY || m.type === MSG.FAIL) {
      const p = this.#pending.get(m.id);
      if (!p) return; // timed out, or a peer answering twice
      this.#pending.delete(m.id);
      if (p.timer) clearTimeout(p.timer);
      if (m.type === MSG.REPLY) p.resolve(m.body);
      else {
        const f = m.body as FailBody;
        // the error's own class where this side knows it; otherwise its code and message
        p.reject((f.error && decodeKnownError(f.error)) ?? new RemoteError(f.code, f.message));
      }
      return;
    }
    const h = this.handler;
    if (!h) {
      if (m.id !== 0) this.#fail(m.id, new Error(`${typeName(m.type)} is not served here`));
      return;
    }
    let out: unknown;
    try {
      out = h(m, this);
    } catch (e) {
      if (m.id !== 0) this.#fail(m.id, e);
      else this.#log(`(wray) handling ${typeName(m.type)} from ${this.peer} failed: ${(e as Error)?.stack ?? String(e)}`);
      return;
    }
    if (m.id === 0) {
      if (out instanceof Promise) out.catch((e) => this.#log(`(wray) handling ${typeName(m.type)} from ${this.peer} failed: ${(e as Error)?.stack ?? String(e)}`));
      return;
    }
    if (out instanceof Promise) {
      out.then(
        (v) => this.#reply(m.id, v),
        (e) => this.#fail(m.id, e),
      );
    } else this.#reply(m.id, out);
  }

  #reply(id: number, value: unknown): void {
    if (this.#closed !== undefined) {
      if (value instanceof ChunkReply) value.done?.();
      return;
    }
    if (value instanceof ChunkReply) this.#sendChunk(id, value);
    else this.#write(MSG.REPLY, id, value ?? null);
  }

  /** A chunk of object bytes: its own frame, the bytes sent from where they are (after what is queued, keeping order). */
  #sendChunk(id: number, chunk: ChunkReply): void {
    this.flush();
    const header = chunkReplyHeader(id, chunk);
    this.messagesOut++;
    WIRE_TOTALS.messagesOut++;
    this.#sendFrame([header, chunk.data], header.length + chunk.data.length, chunk.done);
  }

  #fail(id: number, e: unknown): void {
    if (this.#closed !== undefined) return;
    const code = typeof (e as { code?: unknown })?.code === "string" ? (e as { code: string }).code : "WRAY_REMOTE_ERROR";
    const message = e instanceof Error ? e.message : String(e);
    this.#write(MSG.FAIL, id, { code, message, error: encodeError(e) } satisfies FailBody);
  }

  /** Closes the connection; requests in flight fail. */
  close(why = "closed", code = CLOSE_NORMAL): void {
    if (this.#closed !== undefined) return;
    this.flush();
    this.#link.close(code, why.slice(0, 120));
    this.closed(why);
  }

  /** The close code the other side gave, once closed (undefined: none, or closed here). */
  closeCode: number | undefined;

  /** The link closed (transports call this), with the code the other side gave. */
  closed(why: string, code?: number): void {
    if (this.#closed !== undefined) return;
    this.#closed = why;
    this.closeCode = code;
    for (const p of this.#pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new ConnectionClosedError(this.peer, why));
    }
    this.#pending.clear();
    this.#wake();
    for (const f of this.#onClose) {
      try {
        f(why);
      } catch (e) {
        this.#log(`(wray) a close handler failed: ${(e as Error)?.stack ?? String(e)}`);
      }
    }
    this.#onClose.clear();
  }
}

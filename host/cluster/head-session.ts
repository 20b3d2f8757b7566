/**
 * A node's link to the head that outlives the head's connection: when it
 * closes (the head died, restarted, or the network dropped), the node
 * keeps running and keeps finishing the work it holds while this class
 * connects again with backoff for `reconnectMs` (Ray's raylet waits 60 s
 * for its GCS). Requests made meanwhile wait, and requests whose reply
 * the closed connection lost are sent again: the head's requests are
 * idempotent (a placement, an actor's creation by ID, a write-once
 * component, reads). Notifications that record state (object locations)
 * wait too; heartbeats do not. When it is connected again `rejoin` runs
 * first (registration under the same node ID, subscriptions) and then
 * what waited goes, in order.
 *
 * Three ends: the head declared this node dead (its close code, or its
 * refusal of the registration: fencing) — `onFenced`; it closed the
 * connection in order (it is stopping) — `onGone` with a
 * ConnectionClosedError; or it did not come back in time — `onGone`, and
 * what waits fails with HeadUnavailableError.
 */
import type { Connection, Message, MessageType } from "../../net/index.js";
import { CLOSE_FENCED, CLOSE_NORMAL, ConnectionClosedError, MSG } from "../../net/index.js";
import { HeadUnavailableError, NodeFencedError } from "../errors.js";

/** Ray's raylet gives its GCS this long to come back. */
export const HEAD_RECONNECT_MS = 60_000;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2000;

export interface HeadSessionOptions {
  address: string;
  nodeId: string;
  /** How long to try to reach the head again before giving up. */
  reconnectMs: number;
  /** Opens a new connection to the head. */
  connect: () => Promise<Connection>;
  /** Handles what the head sends. */
  handle: (m: Message) => unknown;
  /** Runs on a new connection before anything else is sent on it: register again, subscribe again. */
  rejoin: (conn: Connection) => Promise<void>;
  onFenced: (error: NodeFencedError) => void;
  onGone: (error: HeadUnavailableError | ConnectionClosedError) => void;
  log: (line: string) => void;
}

interface Waiting {
  type: MessageType;
  body: unknown;
  /** A request's settlement; undefined for a notification. */
  settle?: { resolve: (v: unknown) => void; reject: (e: Error) => void; timeoutMs: number | undefined };
}

/**
 * Notifications kept while the head is away (they record state); the rest
 * are dropped: heartbeats, and subscriptions (`rejoin` makes them anew).
 */
const KEPT = new Set<MessageType>([MSG.OBJECT_LOCATION]);

export class HeadSession {
  readonly #o: HeadSessionOptions;
  #conn: Connection | undefined;
  readonly #waiting: Waiting[] = [];
  /** When the connection was lost (performance.now()), while it is. */
  #lostAt: number | undefined;
  #ended = false;
  /** Why the session ended (what later requests fail with). */
  #endError: Error | undefined;
  #giveUp: ReturnType<typeof setTimeout> | undefined;

  constructor(conn: Connection, options: HeadSessionOptions) {
    this.#o = options;
    this.#adopt(conn);
  }

  /** The connection now (undefined while the head is away). */
  get connection(): Connection | undefined {
    return this.#conn;
  }

  get connected(): boolean {
    return this.#conn !== undefined;
  }

  #adopt(conn: Connection): void {
    this.#conn = conn;
    conn.handler = (m) => this.#o.handle(m);
    conn.onClose((why) => {
      if (this.#conn === conn) this.#lost(why, conn.closeCode);
    });
  }

  /** Sends a request; while the head is away it waits (and a reply lost with a connection is asked for again). */
  async request<T>(type: MessageType, body: unknown, timeoutMs?: number): Promise<T> {
    for (;;) {
      const conn = this.#conn;
      if (conn === undefined) return this.#wait<T>(type, body, timeoutMs);
      try {
        return await conn.request<T>(type, body, timeoutMs);
      } catch (e) {
        // the connection closed under the request: ask again once the head is back
        if (!(e instanceof ConnectionClosedError) || !conn.isClosed || this.#ended) throw e;
      }
    }
  }

  notify(type: MessageType, body: unknown): void {
    if (this.#conn !== undefined) this.#conn.notify(type, body);
    else if (!this.#ended && KEPT.has(type)) this.#waiting.push({ type, body });
  }

  #wait<T>(type: MessageType, body: unknown, timeoutMs: number | undefined): Promise<T> {
    if (this.#ended) return Promise.reject(this.#failure(type));
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ type, body, settle: { resolve: resolve as (v: unknown) => void, reject, timeoutMs } });
    });
  }

  #lost(why: string, code: number | undefined): void {
    this.#conn = undefined;
    if (this.#ended) return;
    if (code === CLOSE_FENCED) {
      this.#fenced(new NodeFencedError(this.#o.nodeId, why.replace(/^closed \(\d+ (declared dead: )?/, "").replace(/\)$/, "")));
      return;
    }
    if (code === CLOSE_NORMAL) {
      // the head closed it on purpose (it is stopping): nothing to wait for
      const e = new ConnectionClosedError("the head", `it stopped (${why})`);
      this.#end(e);
      this.#o.onGone(e);
      return;
    }
    this.#lostAt = performance.now();
    this.#o.log(`(wray) lost the connection to the head at ${this.#o.address} (${why}): carrying on, and connecting again for up to ${Math.round(this.#o.reconnectMs / 1000)} s`);
    this.#giveUp = setTimeout(() => this.#gone(), this.#o.reconnectMs);
    void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    let delay = FIRST_RETRY_MS;
    while (!this.#ended) {
      let conn: Connection | undefined;
      try {
        conn = await this.#o.connect();
        conn.handler = (m) => this.#o.handle(m);
        await this.#o.rejoin(conn);
        if (this.#ended) {
          conn.close("node leaving");
          return;
        }
        const away = performance.now() - this.#lostAt!;
        clearTimeout(this.#giveUp);
        this.#lostAt = undefined;
        this.#adopt(conn);
        this.#o.log(`(wray) connected to the head at ${this.#o.address} again after ${Math.round(away)} ms`);
        this.#flush(conn);
        return;
      } catch (e) {
        conn?.close("rejoin failed");
        if (e instanceof NodeFencedError) return this.#fenced(e);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(MAX_RETRY_MS, delay * 2);
      }
    }
  }

  /** Sends what waited for the head, in order. */
  #flush(conn: Connection): void {
    const waiting = this.#waiting.splice(0);
    for (const w of waiting) {
      if (!w.settle) conn.notify(w.type, w.body);
      else {
        const s = w.settle;
        this.request(w.type, w.body, s.timeoutMs).then(s.resolve, s.reject);
      }
    }
  }

  #fenced(e: NodeFencedError): void {
    this.#end(e);
    this.#o.onFenced(e);
  }

  #gone(): void {
    if (this.#ended || this.#conn !== undefined) return;
    const e = new HeadUnavailableError(this.#o.address, this.#o.reconnectMs, "the head");
    this.#end(e);
    this.#o.onGone(e);
  }

  /** No more connecting: what waits fails with `error`. */
  #end(error: Error): void {
    this.#ended = true;
    this.#endError = error;
    clearTimeout(this.#giveUp);
    for (const w of this.#waiting.splice(0)) w.settle?.reject(this.#failure(w.type));
  }

  /** What a request of `type` fails with once the session ended: the head's absence names the request. */
  #failure(type: MessageType): Error {
    const e = this.#endError!;
    return e instanceof HeadUnavailableError ? new HeadUnavailableError(this.#o.address, this.#o.reconnectMs, what(type)) : e;
  }

  /** Closes the link for good (the node leaves). */
  close(why: string): void {
    this.#end(new ConnectionClosedError("the head", why));
    const conn = this.#conn;
    this.#conn = undefined;
    conn?.close(why);
  }
}

function what(type: MessageType): string {
  switch (type) {
    case MSG.TASK_SUBMIT:
      return "placing a task";
    case MSG.ACTOR_CREATE:
      return "creating an actor";
    default:
      return "a request to the head";
  }
}

/**
 * Connections to the cluster's other nodes: one per peer, made on first
 * use from the address in the nodes table, with sends kept in order while
 * it is being made. Also what this node knows of which nodes died.
 *
 * Messages to one peer keep their order (one connection per pair), so an
 * actor's calls from one caller arrive in the order they were made.
 */
import type { Connection, Message, MessageType, Transport } from "../../net/index.js";
import { ProtocolError } from "../../net/index.js";
import type { ControlStore } from "../../store/index.js";
import { TABLES } from "../../store/index.js";
import { NodeDiedError } from "../errors.js";
import type { NodeRecord } from "../head/index.js";

export interface PeersOptions {
  nodeId: string;
  transport: Transport;
  token: string;
  gcs: ControlStore;
  log: (line: string) => void;
  /** Handles a message from a peer (or one this node sent itself). */
  handle: (m: Message, conn: Connection | undefined) => unknown;
}

export class Peers {
  readonly nodeId: string;
  readonly #o: PeersOptions;
  readonly #peers = new Map<string, Promise<Connection>>();
  /** Peers whose connection is up (the synchronous path of send). */
  readonly #open = new Map<string, Connection>();
  /** Sends to peers whose connection is being made, in order. */
  readonly #connecting = new Map<string, { type: MessageType; body: unknown; onError: ((e: Error) => void) | undefined }[]>();
  readonly #addresses = new Map<string, string>();
  readonly #dead = new Map<string, string>();

  constructor(options: PeersOptions) {
    this.nodeId = options.nodeId;
    this.#o = options;
  }

  /** Why node `id` died, if it did (as far as this node knows). */
  deathOf(id: string): string | undefined {
    return this.#dead.get(id);
  }

  /** The address the nodes table gives for node `id`. */
  setAddress(id: string, address: string): void {
    this.#addresses.set(id, address);
  }

  /** Node `id` died: its connection goes, and sends to it fail from now on. */
  died(id: string, why: string): void {
    this.#dead.set(id, why);
    const peer = this.#peers.get(id);
    this.#peers.delete(id);
    this.#open.delete(id);
    peer?.then((c) => c.close("node died")).catch(() => {});
  }

  /** A connection to node `id` (made on first use). */
  connect(id: string): Promise<Connection> {
    let p = this.#peers.get(id);
    if (p) return p;
    p = (async () => {
      const dead = this.#dead.get(id);
      if (dead) throw new NodeDiedError("cannot reach it", id, dead);
      let address = this.#addresses.get(id);
      if (!address) {
        const rec = await this.#o.gcs.get<NodeRecord>(TABLES.nodes, id);
        if (!rec || !rec.address) throw new ProtocolError(`node ${id} is not in the control store's nodes table`);
        address = rec.address;
        this.#addresses.set(id, address);
      }
      const conn = await this.#o.transport.connect(address, this.#o.token, this.#o.log);
      conn.peer = `node ${id.slice(0, 8)}`;
      conn.handler = (m, c) => this.#o.handle(m, c);
      conn.onClose(() => {
        if (this.#peers.get(id) === p) this.#peers.delete(id);
        if (this.#open.get(id) === conn) this.#open.delete(id);
      });
      return conn;
    })();
    this.#peers.set(id, p);
    p.catch(() => {
      if (this.#peers.get(id) === p) this.#peers.delete(id);
    });
    return p;
  }

  /** Sends to node `id` in order with earlier sends to it; `onError` hears when it cannot be reached. */
  send(id: string, type: MessageType, body: unknown, onError?: (e: Error) => void): void {
    if (id === this.nodeId) {
      // to ourselves: the same handling, without a socket
      queueMicrotask(() => this.#o.handle({ type, id: 0, body }, undefined));
      return;
    }
    const open = this.#open.get(id);
    if (open !== undefined) return open.notify(type, body);
    let queue = this.#connecting.get(id);
    if (queue !== undefined) {
      queue.push({ type, body, onError });
      return;
    }
    this.#connecting.set(id, (queue = [{ type, body, onError }]));
    this.connect(id).then(
      (c) => {
        this.#connecting.delete(id);
        for (const m of queue) c.notify(m.type, m.body);
        if (!c.isClosed) this.#open.set(id, c);
      },
      (e: Error) => {
        this.#connecting.delete(id);
        for (const m of queue) m.onError?.(e);
      },
    );
  }

  /** Closes every peer connection. */
  close(): void {
    for (const p of this.#peers.values()) p.then((c) => c.close("node leaving"), () => {});
  }
}

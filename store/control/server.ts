/**
 * Serves a control store to one connection: GCS_* requests, and the
 * connection's subscriptions (ended when it closes). Returns false for
 * messages that are not the control store's, so the caller can route
 * them elsewhere.
 *
 * Reads are served to every connection; raw writes (GCS_PUT, GCS_DELETE)
 * only to the tables in `writable`. The head gives none: its tables are
 * written by its own logic (registration, placement, the typed messages
 * of head.ts), so a client cannot put code or records under other names.
 */
import type { Connection, GcsChannelBody, GcsKeyBody, GcsPutBody, GcsScanBody, Message } from "../../net/index.js";
import { MSG, PermissionDeniedError } from "../../net/index.js";
import type { ControlStore, Table } from "./types.js";
import { TABLES } from "./types.js";

export class ControlStoreService {
  readonly #store: ControlStore;
  readonly #writable: ReadonlySet<string>;
  /** Subscriptions per connection: channel → unsubscribe. */
  readonly #subs = new Map<Connection, Map<string, () => void>>();

  /** `writable`: the tables clients may write with raw puts and deletes (default: all). */
  constructor(store: ControlStore, writable: Iterable<Table> = Object.values(TABLES)) {
    this.#store = store;
    this.#writable = new Set(writable);
  }

  #mayWrite(table: string): void {
    if (!this.#writable.has(table)) throw new PermissionDeniedError(`the control store's '${table}' table is written by the head, not by clients`);
  }

  /** Handles `m` if it is a control-store message: returns `{ value }` (the reply), or undefined if not ours. */
  handle(m: Message, conn: Connection): { value: unknown } | undefined {
    switch (m.type) {
      case MSG.GCS_GET: {
        const b = m.body as GcsKeyBody;
        return { value: this.#store.get(b.table as Table, b.key).then((v) => v ?? null) };
      }
      case MSG.GCS_PUT: {
        const b = m.body as GcsPutBody;
        this.#mayWrite(b.table);
        return { value: this.#store.put(b.table as Table, b.key, b.value) };
      }
      case MSG.GCS_DELETE: {
        const b = m.body as GcsKeyBody;
        this.#mayWrite(b.table);
        return { value: this.#store.delete(b.table as Table, b.key) };
      }
      case MSG.GCS_SCAN: {
        const b = m.body as GcsScanBody;
        return { value: this.#store.scan(b.table as Table, b.prefix) };
      }
      case MSG.GCS_SUBSCRIBE: {
        const ch = (m.body as GcsChannelBody).channel;
        let subs = this.#subs.get(conn);
        if (!subs) {
          this.#subs.set(conn, (subs = new Map()));
          conn.onClose(() => this.#drop(conn));
        }
        if (!subs.has(ch)) subs.set(ch, this.#store.subscribe(ch, (key, value) => conn.notify(MSG.GCS_EVENT, { channel: ch, key, value: value ?? null })));
        return { value: null };
      }
      case MSG.GCS_UNSUBSCRIBE: {
        const ch = (m.body as GcsChannelBody).channel;
        const subs = this.#subs.get(conn);
        subs?.get(ch)?.();
        subs?.delete(ch);
        return { value: null };
      }
      default:
        return undefined;
    }
  }

  #drop(conn: Connection): void {
    for (const off of this.#subs.get(conn)?.values() ?? []) off();
    this.#subs.delete(conn);
  }
}

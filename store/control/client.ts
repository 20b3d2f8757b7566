/**
 * A control store on the other side of a connection (the head's). The
 * connection's owner routes GCS_EVENT messages to `event()`; subscriptions
 * are made once per channel on the server however many local listeners
 * there are.
 */
import type { Connection, GcsEventBody } from "../../net/index.js";

/** What the control store uses of its link to the head (a Connection, or a link that outlives one). */
export type ControlLink = Pick<Connection, "request" | "notify">;
import { MSG } from "../../net/index.js";
import type { ChangeListener, ControlStore, Table } from "./types.js";
import { isTable } from "./types.js";

export class RemoteControlStore implements ControlStore {
  readonly #conn: ControlLink;
  readonly #subs = new Map<string, Set<ChangeListener>>();

  constructor(conn: ControlLink) {
    this.#conn = conn;
  }

  /** Subscribes `conn` (a new connection to the same server) to every channel listened to here. */
  resubscribe(conn: ControlLink): void {
    for (const channel of this.#subs.keys()) conn.notify(MSG.GCS_SUBSCRIBE, { channel });
  }

  async get<T = unknown>(table: Table, key: string): Promise<T | undefined> {
    check(table, key);
    const v = await this.#conn.request(MSG.GCS_GET, { table, key });
    return (v ?? undefined) as T | undefined;
  }

  async put(table: Table, key: string, value: unknown): Promise<void> {
    check(table, key);
    if (value === undefined) throw new TypeError("control store values cannot be undefined (use delete)");
    await this.#conn.request(MSG.GCS_PUT, { table, key, value });
  }

  async delete(table: Table, key: string): Promise<void> {
    check(table, key);
    await this.#conn.request(MSG.GCS_DELETE, { table, key });
  }

  async scan<T = unknown>(table: Table, prefix = ""): Promise<[string, T][]> {
    check(table, prefix);
    return (await this.#conn.request(MSG.GCS_SCAN, { table, prefix })) as [string, T][];
  }

  subscribe(channel: string, fn: ChangeListener): () => void {
    let set = this.#subs.get(channel);
    if (!set) {
      this.#subs.set(channel, (set = new Set()));
      this.#conn.notify(MSG.GCS_SUBSCRIBE, { channel });
    }
    const entry: ChangeListener = (k, v) => fn(k, v);
    set.add(entry);
    return () => {
      const s = this.#subs.get(channel);
      if (!s || !s.delete(entry) || s.size > 0) return;
      this.#subs.delete(channel);
      this.#conn.notify(MSG.GCS_UNSUBSCRIBE, { channel });
    };
  }

  /** A GCS_EVENT from the server. */
  event(body: GcsEventBody): void {
    const set = this.#subs.get(body.channel);
    if (!set) return;
    const value = body.value ?? undefined;
    for (const fn of [...set]) {
      try {
        fn(body.key, value);
      } catch {
        // a subscriber's failure is its own
      }
    }
  }

  async close(): Promise<void> {
    this.#subs.clear();
  }
}

function check(table: unknown, key: unknown): void {
  if (!isTable(table)) throw new TypeError(`unknown control store table '${String(table)}'`);
  if (typeof key !== "string") throw new TypeError("control store keys must be strings");
}

/**
 * A driver's ObjectRefs and values: a ref owns one reference on its object
 * (dropped when the ref is collected); refs read back from values are
 * adopted; values encode with the refs they carry noted (a ref that goes
 * into a value is indexed, so others can ask for it by ID); and values
 * decode from shared memory as views that pin their object while they
 * live, up to a share of the store.
 */
import { ValueCodec, sendError } from "../../common/codec.js";
import type { ActorHandle } from "../../common/actor-handle.js";
import type { TaskId } from "../../common/ids.js";
import { objectKey } from "../../common/ids.js";
import { ObjectRef } from "../../common/object-ref.js";
import type { ObjectEntry, ObjectStore } from "../../store/index.js";
import { FAILED } from "../../store/index.js";
import { beyondTop } from "../node/index.js";

/** The share of the object store that views returned by `get` may pin. */
const VIEW_PIN_SHARE = 0.5;

/** The encoding of an empty argument list, shared (records copy it, nothing writes it). */
const NO_ARGS = Uint8Array.of(0x90);

export class DriverRefs {
  readonly #store: ObjectStore;
  /** In a cluster: an entry for an object of another node, filled from there when read. */
  readonly #want: ((key: string) => ObjectEntry) | undefined;
  readonly #codec: ValueCodec;
  /** Refs the codec met while encoding the current value. */
  #encodedRefs: string[] | undefined;
  /** Drops a reference when an ObjectRef is collected. */
  readonly #registry: FinalizationRegistry<ObjectEntry>;
  /** Ends a pin when a view into shared memory is collected. */
  readonly #views: FinalizationRegistry<ObjectEntry>;
  /** Set at shutdown: collected refs and views no longer touch the (closed) store. */
  closed = false;

  constructor(store: ObjectStore, want: ((key: string) => ObjectEntry) | undefined, makeActor: (key: string) => ActorHandle) {
    this.#store = store;
    this.#want = want;
    this.#registry = new FinalizationRegistry((e) => {
      if (!this.closed) store.release(e);
    });
    this.#views = new FinalizationRegistry((e) => {
      if (!this.closed) store.unpin(e);
    });
    this.#codec = new ValueCodec({
      onEncodeRef: (ref) => (this.#encodedRefs ??= []).push(this.#escape(ref)),
      makeRef: (key) => this.#adopt(key),
      makeActor,
    });
  }

  /** A handle for an object this driver just made (one reference already taken for it). */
  own(e: ObjectEntry): ObjectRef {
    const r = new ObjectRef(e.key, e);
    this.#registry.register(r, e);
    return r;
  }

  /** A ref found in a value read back: its object is indexed; take a reference for the handle. */
  #adopt(key: string): ObjectRef {
    const store = this.#store;
    const e = store.entry(key);
    if (e) {
      store.addRef(e);
      return this.own(e);
    }
    // in a cluster, an object of another node: a local entry (its one reference is this handle's), filled from there when read
    if (this.#want) return this.own(this.#want(key));
    return new ObjectRef(key);
  }

  /** The entry a ref was made with, if it belongs to this driver's store. */
  #ownEntry(ref: ObjectRef): ObjectEntry | undefined {
    const e = ObjectRef.entryOf(ref) as ObjectEntry | undefined;
    return e !== undefined && e.store === this.#store ? e : undefined;
  }

  /** A ref goes into a value (an argument, a put): others may now ask for it by ID. */
  #escape(ref: ObjectRef): string {
    const e = this.#ownEntry(ref);
    if (e) this.#store.index(e);
    return ref.key;
  }

  /** The live entry `ref` names (its own, or by key), if any. */
  entryOf(ref: ObjectRef): ObjectEntry | undefined {
    const e = this.#ownEntry(ref);
    return e !== undefined && e.live ? e : this.#store.entry(ref.key);
  }

  /**
   * Encodes call arguments; the refs among them are `deps` (top level,
   * resolved before the call) and `nested` (deeper, kept alive).
   */
  encodeArgs(args: readonly unknown[], owner: string, method?: string): { bytes: Uint8Array; deps: string[] | undefined; nested: string[] | undefined } {
    this.#encodedRefs = undefined;
    let bytes: Uint8Array;
    try {
      bytes = args.length === 0 ? NO_ARGS : this.#codec.encode(args, "args");
    } catch (e) {
      // the call's name is put together only when it is needed
      throw sendError(e, `${owner}${method === undefined ? "" : `.${method}`}.remote()`);
    }
    let deps: string[] | undefined;
    let nested: string[] | undefined;
    if (this.#encodedRefs !== undefined) {
      const all: string[] = this.#encodedRefs;
      this.#encodedRefs = undefined;
      for (const a of args) if (a instanceof ObjectRef) (deps ??= []).push(a.key);
      nested = beyondTop(all, deps);
    }
    return { bytes, deps, nested };
  }

  /** The return objects of a call with task ID `taskId`, and their refs. */
  returns(taskId: TaskId, n: number): { ids: string[]; entries: ObjectEntry[]; refs: ObjectRef[] } {
    const store = this.#store;
    const refs = new Array<ObjectRef>(n);
    const ids = new Array<string>(n);
    const entries = new Array<ObjectEntry>(n);
    for (let i = 0; i < n; i++) {
      const id = objectKey(taskId, i + 1);
      ids[i] = id;
      const e = store.create(id, 1);
      entries[i] = e;
      refs[i] = this.own(e);
    }
    return { ids, entries, refs };
  }

  /** Encodes a value for the store (`what` names the call in errors), with the refs it holds. */
  encodeValue(value: unknown, what: string): { bytes: Uint8Array; nested: string[] | undefined } {
    this.#encodedRefs = undefined;
    let bytes: Uint8Array;
    try {
      bytes = this.#codec.encodeTransient(value, "value");
    } catch (e) {
      throw sendError(e, what);
    }
    const nested = this.#encodedRefs;
    this.#encodedRefs = undefined;
    return { bytes, nested };
  }

  /** The value of sealed entry `e` (its error, if it failed); views into shared memory pin it while they live. */
  value(e: ObjectEntry): unknown {
    if (e.state === FAILED) throw e.error;
    const store = this.#store;
    // read back from disk if it was spilled
    const bytes = store.bytes(e)!;
    if (!e.arena) return this.#codec.decode(bytes);
    // Binary values decoded from shared memory are views of it (zero-copy),
    // which pin the object until they are collected. Collection is up to
    // the garbage collector, so views may pin at most half the store; past
    // that, values come from a private copy and the store stays free to spill.
    if (store.pinnedBytes + bytes.length > store.arena.capacity * VIEW_PIN_SHARE) return this.#codec.decode(bytes.slice());
    const v = this.#codec.decodeShared(bytes);
    this.#pinViews(v, e, 0);
    return v;
  }

  #pinViews(v: unknown, e: ObjectEntry, depth: number): void {
    if (v === null || typeof v !== "object" || depth > 64) return;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof SharedArrayBuffer) {
        // a view into shared memory: the object stays there (never spilled or freed) while it lives
        this.#store.pin(e);
        this.#views.register(v, e);
      }
      return;
    }
    if (v instanceof ObjectRef) return;
    if (Array.isArray(v)) for (const x of v) this.#pinViews(x, e, depth + 1);
    else for (const x of Object.values(v)) this.#pinViews(x, e, depth + 1);
  }
}

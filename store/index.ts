/**
 * The object store: immutable objects per host, small ones inline and
 * large ones in a shared arena that every isolate maps, spilled to disk
 * under pressure.
 */
export { Arena, BLOCK_ALIGN } from "./arena.js";
export type { ArenaOptions, ArenaRef, ArenaListener } from "./arena.js";
export { ObjectStore, INLINE_MAX, PENDING, READY, FAILED, watch, unwatch } from "./object-store.js";
export type { ObjectEntry, ObjectState, StoreStats, ObjectInfo, MemorySummary, ObjectStoreOptions, ObjectTable, RemoteCopy, RemoteObjects } from "./object-store.js";
export { SpillFiles } from "./spill.js";
export { copyBytes } from "./copier.js";
export type { SpillRef, SpillStats } from "./spill.js";
export { GetTimeoutError, ObjectStoreFullError, ObjectTooLargeError, SpillError, ObjectLostError, OwnerDiedError } from "./errors.js";
export { TABLES, channelOf, ShardedControlStore, ControlStoreService, RemoteControlStore, ControlStoreError } from "./control/index.js";
export type { Table, ControlStore, ChangeListener, ShardedControlStoreOptions } from "./control/index.js";

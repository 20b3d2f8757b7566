/**
 * The object store: immutable objects per host, small ones inline and
 * large ones in a shared arena that every isolate maps.
 */
export { Arena, BLOCK_ALIGN } from "./arena.js";
export type { ArenaOptions, ArenaRef, ArenaListener } from "./arena.js";
export { ObjectStore, INLINE_MAX, PENDING, READY, FAILED, watch, unwatch } from "./object-store.js";
export type { ObjectEntry, ObjectState, StoreStats } from "./object-store.js";
export { GetTimeoutError, ObjectStoreFullError, ObjectLostError } from "./errors.js";

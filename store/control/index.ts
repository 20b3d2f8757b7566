/** The control store (GCS): sharded LevelDB tables with pub/sub, served over connections. */
export { TABLES, channelOf, isTable } from "./types.js";
export type { Table, ControlStore, ChangeListener } from "./types.js";
export { ShardedControlStore, shardOf } from "./sharded.js";
export type { ShardedControlStoreOptions } from "./sharded.js";
export { ControlShard } from "./shard.js";
export { ControlStoreService } from "./server.js";
export { RemoteControlStore } from "./client.js";
export { ControlStoreError } from "./errors.js";

// wray's guest SDK for AssemblyScript: `import { ... } from "wray/as"`.
// Build with `wray build --lang as src/tasks.ts` (docs/writing-guests.md).
export { ActorHandle, Container, EXT_MAP, EXT_SET, Ext, Kind, ObjectRef, Reader, Writer } from "./msgpack";
export { callActor, cancelled, createActor, get, getActor, Level, log, now, put, randomSeed, submit, Values, wait } from "./host";
export { ActorClass, actor, Args, Out, task, TaskFn } from "./guest";

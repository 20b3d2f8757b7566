// An async actor for the async-actor rows (bench/run.mjs). Apart from
// micro.ts: a module with async functions is built for the async world,
// and the other rows measure the sync one.
export class AsyncSink {
  async noop(): Promise<void> {}
}

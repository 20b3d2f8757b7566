/**
 * Observability served over HTTP: Prometheus metrics of a node and of
 * the head (metrics.ts, prom-client, read at scrape time), and the
 * dashboard on the head (server.ts: the page in ui.ts, its JSON API and a
 * live WebSocket), behind the cluster's token. The state itself (task
 * events, logs, actors) is the head's (head/state.ts); this room only
 * serves it.
 *
 * Imports: head/ and node/ (to read them), net/, common/. Never imports
 * isolate/, cluster/, driver/ or cli/: `wray start` (cli/) starts it.
 */
export { nodeMetrics, headMetrics } from "./metrics.js";
export { startObserveServer } from "./server.js";
export type { ObserveServer, ObserveServerOptions } from "./server.js";

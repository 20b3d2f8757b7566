/**
 * Prometheus metrics (prom-client), read when they are scraped: nothing
 * on the task path counts anything for them beyond the node's own
 * counters. A node's registry has its tasks by state, scheduler queue,
 * isolates busy and idle, object-store bytes (inline, shared, pinned,
 * spilled), spill traffic, actors by state and the bytes and messages on
 * the wire; the head's adds the cluster's nodes, their heartbeat ages and
 * the task events it keeps. Both have the process's own (CPU, memory,
 * event-loop lag: prom-client's defaults).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { WIRE_TOTALS } from "../../net/index.js";
import type { Head } from "../head/index.js";
import type { HostNode } from "../node/index.js";

type Sample = [Record<string, string>, number];

/** One sample per field of `values`, labelled `label` = the field's name. */
function by(label: string, values: Record<string, number>): Sample[] {
  return Object.entries(values).map(([k, v]) => [{ [label]: k }, v]);
}

/** A counter whose value is read from somewhere at scrape time (prom-client counters only go up by inc). */
function readCounter(registry: Registry, name: string, help: string, labelNames: string[], read: () => Sample[]): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.inc(labels, v);
    },
  });
}

function readGauge(registry: Registry, name: string, help: string, labelNames: string[], read: () => Sample[]): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.set(labels, v);
    },
  });
}

/** The metrics of one node (and its process). */
export function nodeMetrics(nodeNow: () => HostNode, registry = new Registry()): Registry {
  // (read through a function: a node that was fenced joins again as a new HostNode)
  const node = new Proxy({} as HostNode, { get: (_t, k) => Reflect.get(nodeNow(), k) });
  collectDefaultMetrics({ register: registry, prefix: "wray_process_" });
  readCounter(registry, "wray_tasks_total", "Tasks and actor calls submitted here, and finished or failed here", ["state"], () => by("state", node.counts));
  readGauge(registry, "wray_tasks", "Tasks here now, by state", ["state"], () => {
    const s = node.scheduler.stats();
    return by("state", { queued: s.queued, waiting_for_args: s.waitingForArgs, running: node.executions.inFlight });
  });
  readGauge(registry, "wray_scheduler_queue_depth", "Tasks queued in the local scheduler (not running)", [], () => [[{}, node.scheduler.stats().queued]]);
  readGauge(registry, "wray_isolates", "Isolates (worker threads running guests), by state", ["state"], () => {
    const s = node.scheduler.stats();
    return by("state", { busy: Math.max(0, s.isolates - s.idle - s.parked), idle: s.idle, parked: s.parked });
  });
  readGauge(registry, "wray_object_store_bytes", "Object-store bytes, by where they are", ["kind"], () => {
    const s = node.store.stats();
    return by("kind", { inline: s.inlineBytes, shared: s.arenaBytes, pinned: s.pinnedBytes, spilled: s.spilledBytes });
  });
  readGauge(registry, "wray_object_store_capacity_bytes", "The object store's shared memory (objectStoreMemory)", [], () => [[{}, node.store.stats().arenaCapacity]]);
  readGauge(registry, "wray_objects", "Live objects in the store (pending ones included)", [], () => [[{}, node.store.stats().objects]]);
  readCounter(registry, "wray_spill_bytes_total", "Bytes spilled to disk and read back", ["direction"], () => {
    const s = node.store.stats();
    return by("direction", { written: s.spilledBytesTotal, restored: s.restoredBytesTotal });
  });
  readCounter(registry, "wray_spill_objects_total", "Objects spilled to disk and read back", ["direction"], () => {
    const s = node.store.stats();
    return by("direction", { written: s.spillsTotal, restored: s.restoresTotal });
  });
  readGauge(registry, "wray_actors", "Actors here, by state", ["state"], () => by("state", node.actors.count()));
  readCounter(registry, "wray_wire_bytes_total", "Bytes this process sent and received over its cluster connections", ["direction"], () => by("direction", { in: WIRE_TOTALS.bytesIn, out: WIRE_TOTALS.bytesOut }));
  readCounter(registry, "wray_wire_messages_total", "Messages this process sent and received over its cluster connections", ["direction"], () => by("direction", { in: WIRE_TOTALS.messagesIn, out: WIRE_TOTALS.messagesOut }));
  readGauge(registry, "wray_task_events_buffered", "Task events recorded here and not yet sent", [], () => [[{}, node.taskEvents.length]]);
  return registry;
}

/** The head's metrics: the cluster as it sees it (add them to its node's registry). */
export function headMetrics(head: Head, registry: Registry): Registry {
  readGauge(registry, "wray_nodes", "Nodes of the cluster, by state (drivers counted apart)", ["state", "driver"], () => {
    const counts = new Map<string, number>();
    for (const n of head.status().nodes) {
      const k = `${n.state} ${n.driver}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return [...counts].map(([k, v]) => {
      const [state, driver] = k.split(" ") as [string, string];
      return [{ state, driver }, v];
    });
  });
  readGauge(registry, "wray_heartbeat_age_seconds", "Time since each live node's last heartbeat", ["node"], () =>
    head
      .status()
      .nodes.filter((n) => n.state === "alive")
      .map((n) => [{ node: n.nodeId.slice(0, 8) }, n.lastHeartbeatMs / 1000]),
  );
  readCounter(registry, "wray_task_events_total", "Task events the head took in, and those nodes dropped", ["kind"], () => by("kind", { received: head.state.tasks.events, dropped: head.state.tasks.dropped }));
  readGauge(registry, "wray_task_records", "Tasks whose events the head keeps whole", [], () => [[{}, head.state.tasks.size]]);
  return registry;
}

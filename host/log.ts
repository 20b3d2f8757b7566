/**
 * Log records: what guests print (console.log and friends, from any guest
 * language) and what wray itself says, as `init({ log })` and a host's log
 * receive them. On a cluster a guest's records go to the driver whose
 * program ran it, marked with the node it ran on.
 */
import type { LogLevel } from "./isolate/index.js";

export type { LogLevel };

export interface LogRecord {
  /** "debug", "info", "warn" or "error" (console.debug/log/warn/error). */
  level: LogLevel;
  /** "guest": printed by a task or actor; "wray": said by wray itself. */
  source: "guest" | "wray";
  /** One line, without its newline. */
  text: string;
  /** The task or method that printed it. */
  task?: string;
  /** The actor's class, when an actor printed it. */
  actor?: string;
  /** The actor's ID (32 hex digits), when an actor printed it. */
  actorId?: string;
  /** The node it ran on (32 hex digits), when that is another process's. */
  node?: string;
}

/**
 * A record as a line: `(fib) text` for this process's guests, `(fib
 * node=3f2a9c01) text` for a guest that ran on another node, `(Counter
 * node=…) warn text` for an actor's warning, `(wray) text` for wray's own.
 */
export function formatLog(r: LogRecord): string {
  if (r.source === "wray") return `(wray) ${r.text}`;
  const who = r.actor ?? r.task ?? "?";
  const where = r.node !== undefined ? ` node=${r.node.slice(0, 8)}` : "";
  const level = r.level === "warn" || r.level === "error" ? `${r.level} ` : "";
  return `(${who}${where}) ${level}${r.text}`;
}

/** A line of wray's own (`(wray) ...`) as a record. */
export function wrayRecord(line: string, level: LogLevel = "info"): LogRecord {
  return { level, source: "wray", text: line.startsWith("(wray) ") ? line.slice(7) : line };
}

/** The default destination: the console, one line per record. */
export function printLog(r: LogRecord): void {
  console.log(formatLog(r));
}

/**
 * `wray job`: deploy a compiled program to the cluster and let it run
 * without its client (Ray's `ray job submit/list/status/logs/stop`, with a
 * guest task as the entry point instead of a shell command on the head).
 *
 *   wray job submit <app.wasm> --entry <task> [--wait] [--timeout-s S] [--resources JSON] [--name N] [--json] [-- args...]
 *   wray job list [--json] ; wray job status <id> [--json] ; wray job logs <id> [--follow] [--json] ; wray job stop <id> [--json]
 *
 * Arguments after `--` go to the entry task, each as JSON where it parses
 * as JSON (`3`, `true`, `[1,2]`, `"x"`) and as a string otherwise.
 */
import { parseArgs } from "node:util";
import type { Connection } from "../../net/index.js";
import type { AskHead, JobHandle, JobLogLine, JobRecord } from "../driver/index.js";
import { JOB_ENDED, Jobs } from "../driver/index.js";
import type { HeadValues } from "./cluster.js";
import { HEAD_OPTIONS, UsageError, connectHead } from "./cluster.js";
import { table } from "./state.js";

const SUBMIT_OPTIONS = {
  ...HEAD_OPTIONS,
  entry: { type: "string" },
  wait: { type: "boolean" },
  "timeout-s": { type: "string" },
  resources: { type: "string" },
  name: { type: "string" },
} as const;
const LOGS_OPTIONS = { ...HEAD_OPTIONS, follow: { type: "boolean", short: "f" } } as const;

/** How often --wait and --follow ask for more. */
const POLL_MS = 250;

export async function job(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "submit":
      return submit(rest);
    case "list":
      return listJobs(rest);
    case "status":
      return jobStatus(rest);
    case "logs":
      return jobLogs(rest);
    case "stop":
      return stopJob(rest);
    default:
      throw new UsageError(sub === undefined ? "say what to do: submit, list, status, logs or stop" : `unknown job command '${sub}' (submit, list, status, logs, stop)`);
  }
}

/** Runs `f` with a Jobs client over one connection to the head. */
async function withJobs<T>(values: HeadValues, f: (jobs: Jobs) => Promise<T>): Promise<T> {
  const conn: Connection = await connectHead(values);
  const ask: AskHead = (type, body, timeoutMs) => conn.request(type as never, body, timeoutMs ?? 30_000);
  try {
    return await f(new Jobs(ask));
  } finally {
    conn.close();
  }
}

/** The entry's arguments: JSON where they parse, else strings. */
export function jobArgs(words: string[]): unknown[] {
  return words.map((w) => {
    try {
      return JSON.parse(w) as unknown;
    } catch {
      return w;
    }
  });
}

function oneId(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? `give the job's ID (see \`wray job list\`) to ${what}` : `expected one job ID, got ${positionals.join(" ")}`);
  return positionals[0]!;
}

async function submit(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const entryArgs = dash < 0 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parseArgs({ args: own, options: SUBMIT_OPTIONS, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "give the component to run, e.g. wray job submit app.wasm --entry main" : `expected one component, got ${positionals.join(" ")} (the entry's arguments go after --)`);
  if (values.entry === undefined || values.entry === "") throw new UsageError("give the entry task with --entry NAME");
  let timeoutMs: number | undefined;
  if (values["timeout-s"] !== undefined) {
    const s = Number(values["timeout-s"]);
    if (values["timeout-s"].trim() === "" || !Number.isFinite(s) || s <= 0) throw new UsageError(`--timeout-s takes a number of seconds > 0, got '${values["timeout-s"]}'`);
    timeoutMs = Math.ceil(s * 1000);
  }
  let resources: Record<string, number> | undefined;
  if (values.resources !== undefined) {
    try {
      resources = JSON.parse(values.resources) as Record<string, number>;
    } catch (e) {
      throw new UsageError(`--resources is not valid JSON (${(e as Error).message}): give an object, e.g. --resources '{"CPU": 1}'`);
    }
    if (typeof resources !== "object" || resources === null || Array.isArray(resources) || Object.values(resources).some((n) => typeof n !== "number" || !(n >= 0))) throw new UsageError(`--resources must be a JSON object of numbers >= 0, e.g. '{"CPU": 1}', got ${values.resources}`);
  }
  return withJobs(values, async (jobs) => {
    const handle = await jobs.submit(positionals[0]!, { entry: values.entry!, args: jobArgs(entryArgs), ...(resources ? { resources } : {}), ...(timeoutMs ? { timeoutMs } : {}), ...(values.name ? { name: values.name } : {}) });
    if (!values.wait) {
      process.stdout.write(values.json ? JSON.stringify({ id: handle.id }) + "\n" : `${handle.id}\n`);
      return 0;
    }
    process.stderr.write(`wray job: ${handle.id} submitted; its logs follow (Ctrl-C leaves it running)\n`);
    const r = await follow(handle, values.json === true);
    return finish(r, values.json === true);
  });
}

/** Prints the job's log lines as they come, until it ends; its final record. */
async function follow(h: JobHandle, json: boolean): Promise<JobRecord> {
  let since = 0;
  for (;;) {
    // the state first: lines the job printed before it ended are all there once it has
    const r = await h.status();
    since = await printLogs(h, since, json);
    if (JOB_ENDED.has(r.state)) return r;
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}

/** Prints the job's log lines after `since`, all there are now; the last line's seq (or `since`). */
async function printLogs(h: JobHandle, since: number, json: boolean): Promise<number> {
  for (;;) {
    const lines = await h.logs({ since });
    if (lines.length === 0) return since;
    for (const l of lines) process.stdout.write(json ? JSON.stringify(l) + "\n" : logLine(l));
    since = lines[lines.length - 1]!.seq;
  }
}

/** Says how the job ended; exit code 0 when it succeeded, 1 otherwise. */
function finish(r: JobRecord, json: boolean): number {
  if (json) process.stdout.write(JSON.stringify(r) + "\n");
  else if (r.state === "succeeded") process.stdout.write(`job ${r.id} succeeded: ${r.result !== undefined ? JSON.stringify(r.result) : (r.resultNote ?? "")}\n`);
  else process.stderr.write(`job ${r.id} ${r.state}: ${r.error ? `${r.error.name}: ${r.error.message}${r.error.stack ? `\n${r.error.stack}` : ""}` : ""}\n`);
  return r.state === "succeeded" ? 0 : 1;
}

function logLine(l: JobLogLine): string {
  const who = l.actor ? `${l.actor}.${l.task ?? "?"}` : (l.task ?? "");
  return `${who ? `(${who}) ` : ""}${l.level === "info" ? "" : `${l.level.toUpperCase()} `}${l.text}\n`;
}

function when(ms: number | undefined): string {
  return ms === undefined ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

async function listJobs(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: HEAD_OPTIONS, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  return withJobs(values, async (jobs) => {
    const rows = await jobs.list();
    process.stdout.write(
      values.json
        ? JSON.stringify(rows, null, 2) + "\n"
        : table(
            ["JOB ID", "NAME", "ENTRY", "STATE", "SUBMITTED", "ENDED", "NODE"],
            rows.map((r) => [r.id, r.name ?? "", r.entry, r.state, when(r.submittedAt), when(r.endedAt), r.node?.slice(0, 8) ?? "-"]),
          ),
    );
    return 0;
  });
}

async function jobStatus(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: HEAD_OPTIONS, allowPositionals: true });
  const id = oneId(positionals, "show");
  return withJobs(values, async (jobs) => {
    const r = await (await jobs.get(id)).status();
    if (values.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + "\n");
      return 0;
    }
    const out = [
      `job ${r.id}${r.name ? ` (${r.name})` : ""}: ${r.state}`,
      `  entry      ${r.entry} (component ${r.component.slice(0, 16)})`,
      `  submitted  ${when(r.submittedAt)}`,
      `  started    ${when(r.startedAt)}`,
      `  ended      ${when(r.endedAt)}`,
      `  node       ${r.node ?? "-"}`,
      `  logs       ${r.logLines} line(s)${r.logsDropped > 0 ? `, ${r.logsDropped} older dropped` : ""} (wray job logs ${r.id})`,
    ];
    if (r.state === "succeeded") out.push(`  result     ${r.result !== undefined ? JSON.stringify(r.result) : (r.resultNote ?? "")}`);
    if (r.error) out.push(`  error      ${r.error.name}: ${r.error.message}`, ...(r.error.stack ? r.error.stack.split("\n").map((l) => `    ${l}`) : []));
    process.stdout.write(out.join("\n") + "\n");
    return 0;
  });
}

async function jobLogs(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: LOGS_OPTIONS, allowPositionals: true });
  const id = oneId(positionals, "read the logs of");
  return withJobs(values, async (jobs) => {
    const h = await jobs.get(id);
    if (values.follow) {
      await follow(h, values.json === true);
      return 0;
    }
    await printLogs(h, 0, values.json === true);
    return 0;
  });
}

async function stopJob(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: HEAD_OPTIONS, allowPositionals: true });
  const id = oneId(positionals, "stop");
  return withJobs(values, async (jobs) => {
    const r = await (await jobs.get(id)).stop();
    process.stdout.write(values.json ? JSON.stringify(r, null, 2) + "\n" : `job ${r.id}: ${r.state}\n`);
    return 0;
  });
}


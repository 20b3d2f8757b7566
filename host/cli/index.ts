#!/usr/bin/env node
/**
 * The `wray` command (this room's front: the program itself). It sits on
 * top of the others: it may import any room, and no room imports it.
 *
 *   wray build <entry.ts|js|c> [-o out.wasm] [--opt-size] [--lang js|as|c|rust]
 *   wray start --head | --address ws://HEAD:PORT [options]
 *   wray status [--json]
 *   wray list tasks|actors|nodes|drivers, wray summary tasks, wray get task <id>, wray timeline,
 *   wray logs, wray memory
 *   wray job submit|list|status|logs|stop
 *   wray stop
 *   wray <command> --help, wray --version
 *
 * Mistakes get one line saying what is wrong and what to type, and exit
 * code 2; failures one line and exit code 1. No stack traces (WRAY_DEBUG=1
 * shows them for failures wray did not expect).
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { GuestLanguage } from "../../guest-sdk/index.js";
import { BuildError, GUEST_LANGUAGES, buildGuest, guestLanguage } from "../../guest-sdk/index.js";
import { NoClusterHere, UsageError, start, status, stop } from "./cluster.js";
import { get, list, logs, memory, summary, timeline } from "./state.js";
import { job } from "./jobs.js";
import { prepareComponent } from "../node/index.js";
import { WrayError } from "../../common/errors.js";

/** Each command: its synopsis and what it does (`wray <command> --help`). */
const HELP: Record<string, string> = {
  build: `usage: wray build <entry> [-o <out.wasm>] [--opt-size] [--lang js|as|c|rust]

Compiles a guest into a WebAssembly component: TypeScript/JavaScript run by
QuickJS (exported functions are tasks, exported classes actors),
AssemblyScript compiled ahead of time (tasks and actors declared with
task()/actor() from "wray/as"), C (declared with guest-sdk/c/wray.h) or Rust
(wray::guest! from guest-sdk/rust). Without --lang: .c is C, .rs Rust; a
module importing "wray/as" or beside an asconfig.json is AssemblyScript.

  -o, --output <file>   where the component goes (default: <entry>.wasm)
  --opt-size            optimize for size
  --lang <language>     js, as, c or rust
`,
  start: `usage: wray start --head [options]
       wray start --address ws://HEAD:PORT [options]

Starts a node in the background (--block: in the foreground) and returns
once it is up. --head starts a cluster: the control store, the global
scheduler and a node; its token file is made if missing. --address joins
the cluster whose head is there.

head options:
  --port <n>                 the head's port (default 6380; 0: any free one)
  --host <ip>                the interface the head listens on (default 127.0.0.1;
                             0.0.0.0 for every interface: give TLS too)
  --shards <n>               control-store shards (default 4)
  --heartbeat-ms <ms>        heartbeat period (default 1000)
  --missed-heartbeats <n>    heartbeats a node may miss before it is declared dead (default 5)
  --restore                  start on the last head's session (its control store: nodes,
                             actors, names, functions, objects) at its address, after it died
  --max-tasks-per-job <n>    tasks of each job whose events the head keeps whole for
                             wray list/get/timeline (default 10000; all are counted)
  --job-retention-s <s>      how long the records and logs of ended jobs (wray job) are
                             kept (default 604800: 7 days)
node options:
  --token-file <file>        the cluster token (default ~/.wray/token, or $WRAY_TOKEN;
                             refused when others can read it: chmod 600)
  --tls-cert <file>          this node's certificate (PEM): its servers use wss://
  --tls-key <file>           that certificate's private key (mode 600)
  --tls-ca <file>            certificates to trust for wss:// (default: the system's
                             and --tls-cert); also $WRAY_TLS_CERT, _KEY, _CA
  --node-ip-address <ip>     the address this node serves objects at, which other
                             nodes connect to (default: the address that reaches the head)
  --node-port <n>            that server's port (default: any free one)
  --head-reconnect-timeout-ms <ms>
                             how long to keep connecting to a head that went away,
                             running on meanwhile (default 60000)
  --num-cpus <n>             CPUs offered to tasks (default: this machine's)
  --num-gpus <n>             GPUs offered (default: 1 when a GPU can be opened)
  --gpu-backend <name>       vulkan, metal, d3d12, d3d11, opengl, opengles or null
  --resources <json>         custom resources, e.g. '{"memoryBound": 2}'
  --object-store-memory <bytes>
  --dashboard-port <n>       (head) serve the dashboard and /metrics there (0: any free port)
  --dashboard-host <ip>      the interface the dashboard and metrics listen on (default 127.0.0.1)
  --metrics-port <n>         serve this node's Prometheus metrics there (/metrics)
  --no-task-events           record no task events here (wray list, summary, get and
                             timeline then show none of this node's tasks)
  --block                    stay in the foreground
`,
  status: `usage: wray status [--address ws://HEAD:PORT] [--token-file <file>] [--tls-ca <file>] [--json]

Shows the cluster's nodes, resources, load, objects and actors. Without
--address, the cluster started on this machine.
`,
  list: `usage: wray list tasks|actors|objects|nodes|drivers [--state <s>] [--filter key=value]... [--limit <n>] [--json]

Lists what the cluster's head knows: tasks (newest first, from the task
events every node sends; the latest ones of each job are kept whole),
actors, objects (every node's store, largest first, with where they are,
refs and pins), nodes, drivers. Filters: tasks by state, name, node, job,
kind, actor; actors by state, class, name, node, job; objects by state,
where, node; nodes by state.

  --state <s>             tasks: submitted, pending_args, scheduled, finished, failed
  --filter key=value      keep rows whose field matches (repeatable)
  --limit <n>             at most n rows (default 100)
  --json                  the rows as JSON
  --address, --token-file, --tls-ca   as for wray status
`,
  summary: `usage: wray summary tasks [--json]

Counts tasks by function and state, with mean, p50 and p99 run times, over
every task the head has seen (evicted ones included).
`,
  get: `usage: wray get task <id> [--json]

One task: its function, node, isolate, state history, and its error with
the guest's stack. <id>: the task's 32 hex digits (an ObjectRef's first
32), or a unique prefix of 8 or more.
`,
  timeline: `usage: wray timeline [-o trace.json]

Writes the timeline of the tasks the head keeps as a Chrome trace file
(one event per task run, on a lane per node and isolate): open it in
https://ui.perfetto.dev or chrome://tracing.
`,
  logs: `usage: wray logs [--actor <class|id>] [--task <name>] [--node <id>] [--follow] [--limit <n>] [--json]

What guests printed, as the head keeps it (the latest lines of each node):
time, node, the task or actor method, the line. --follow keeps printing
new lines until interrupted.
`,
  memory: `usage: wray memory [--limit <n>] [--json]

What every node's object store holds (drivers included), as ray.memory()
shows a driver's: objects, inline, shared, pinned and spilled bytes, and
the largest objects (--limit of each node, default 20).
`,
  stop: `usage: wray stop

Stops the wray nodes running on this machine (heads last): in order, with
10 s to finish before they are killed.
`,
  job: `usage: wray job submit <app.wasm> --entry <task> [--wait] [--timeout-s <s>] [--resources <json>] [--name <n>] [--json] [-- args...]
       wray job list [--json]
       wray job status <id> [--json]
       wray job logs <id> [--follow] [--json]
       wray job stop <id> [--json]

Deploys a compiled program to the cluster: the head runs its entry task
(a task the component exports) under a driver of its own, so the job runs
on without this client. Everything the entry submits, creates or puts is
the job's and is freed when it ends (actors not detached die). The entry
is a guest task: sandboxed, with a task's limits.

  submit      sends the component and starts the job; prints its ID. The entry's
              arguments follow --, each as JSON where it parses (3, true, [1,2], "x"),
              else as a string
    --wait          print the job's logs as it runs, then how it ended; exit code 0
                    when it succeeded, 1 when it failed or was stopped
    --timeout-s <s> stop the job after this long (default: no limit)
    --resources <json>  what the entry task needs, e.g. '{"CPU": 2}' (default CPU 1)
  list        the latest jobs: ID, entry, state, times, the node the entry ran on
  status      one job: state, times, node, its result, or its error with the guest stack
  logs        what its tasks and actors printed (--follow: until it ends)
  stop        cancels its tasks, kills its actors, frees its objects

  --address, --token-file, --tls-ca   the cluster (default: the one started on this machine)
  --json      JSON instead of text
`,
};

const USAGE = `usage: wray <command> [options]

commands:
  build <entry>              compile a guest (TypeScript, AssemblyScript, C, Rust) into a component
  start --head | --address   start a cluster, or a node that joins one
  status                     show the cluster
  list <what>                list tasks, actors, objects, nodes or drivers
  summary tasks              tasks by function and state, with run times
  get task <id>              one task: history, node, error with the guest stack
  timeline [-o file]         the tasks' timeline as a Chrome trace
  logs [--actor X] [-f]      what guests printed (--follow for more)
  memory                     every node's object store
  job <command>              submit, list, status, logs and stop jobs: programs the
                             cluster runs without a client
  stop                       stop this machine's wray nodes

  wray <command> --help      what a command takes
  wray --version             wray's version
`;

async function build(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { output: { type: "string", short: "o" }, "opt-size": { type: "boolean" }, lang: { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "give the entry file to build, e.g. wray build tasks.ts" : `expected one entry file, got ${positionals.length}: ${positionals.join(" ")}`);
  const t0 = performance.now();
  const lang = values.lang;
  if (lang !== undefined && !(GUEST_LANGUAGES as readonly string[]).includes(lang)) throw new UsageError(`unknown --lang '${lang}' (known: ${GUEST_LANGUAGES.join(", ")})`);
  const entry = positionals[0]!;
  const progress = buildProgress();
  try {
    const language = (lang as GuestLanguage | undefined) ?? guestLanguage(entry);
    progress.stage(STAGES[language] ?? `building ${entry}`);
    const r = await buildGuest(entry, { output: values.output, optimizeSize: values["opt-size"], lang: lang as GuestLanguage | undefined });
    const ms = (performance.now() - t0).toFixed(0);
    // what a host will see: the component's own description (this also warms the load cache)
    progress.stage("reading the component (jco generates its glue the first time; cached after)");
    const { manifest } = await prepareComponent(await readFile(r.output), r.output);
    progress.stop();
    const classes = Object.entries(manifest.actors).map(([c, methods]) => `${c} (${methods.join(", ")})`);
    const parts = [`tasks: ${manifest.tasks.join(", ") || "none"}`];
    if (classes.length > 0) parts.push(`actor classes: ${classes.join(", ")}`);
    const ignored = r.exports.filter((e) => !manifest.tasks.includes(e) && !(e in manifest.actors));
    process.stdout.write(`built ${r.output} (${(r.bytes / 1024).toFixed(0)} KiB) in ${ms} ms; ${parts.join("; ")}\n`);
    if (ignored.length > 0) process.stdout.write(`  not tasks or actors, ignored: ${ignored.join(", ")} (only exported functions and classes run in wray)\n`);
    return 0;
  } catch (e) {
    progress.stop();
    if (e instanceof BuildError) {
      process.stderr.write(`wray build: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** What each language's build spends its time on. */
const STAGES: Record<string, string> = {
  js: "bundling with esbuild and snapshotting QuickJS (componentize-qjs)",
  as: "compiling AssemblyScript (asc)",
  c: "compiling C (clang, wasm32-wasi)",
  rust: "compiling Rust (rustc, wasm32)",
};

/**
 * Says on stderr what a build is doing once it has taken more than 2 s
 * ($WRAY_PROGRESS_AFTER_MS): redrawn in place on a terminal, a line every
 * 10 s elsewhere; quick builds print nothing.
 */
function buildProgress(): { stage(what: string): void; stop(): void } {
  const after = Number(process.env.WRAY_PROGRESS_AFTER_MS ?? 2000);
  const tty = process.stderr.isTTY === true;
  const t0 = performance.now();
  let what = "";
  let shown = false;
  let lastLine = 0;
  const tick = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    if (s * 1000 < after) return;
    if (tty) {
      process.stderr.write(`\rwray build: ${what} ... ${s.toFixed(1)} s\x1b[K`);
      shown = true;
    } else if (!shown || performance.now() - lastLine >= 10_000) {
      process.stderr.write(`wray build: ${what} ... ${s.toFixed(0)} s\n`);
      shown = true;
      lastLine = performance.now();
    }
  }, tty ? 250 : Math.min(500, Math.max(10, after)));
  tick.unref();
  return {
    stage(w: string) {
      if (w !== what && shown && !tty) lastLine = 0; // a new stage gets its line at once
      what = w;
    },
    stop() {
      clearInterval(tick);
      if (shown && tty) process.stderr.write("\r\x1b[K");
    },
  };
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { build, start, status, job, list, summary, get, timeline, logs, memory, stop };

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "--version" || cmd === "-V" || cmd === "version") {
    process.stdout.write(`wray ${version()}\n`);
    return 0;
  }
  if (cmd === undefined || cmd === "help" || cmd === "--help" || cmd === "-h") {
    const topic = cmd === "help" ? rest[0] : undefined;
    if (topic !== undefined && HELP[topic] === undefined) return usageError(`wray help: unknown command '${topic}'`, "wray --help");
    process.stdout.write(topic !== undefined ? HELP[topic]! : USAGE);
    return cmd === undefined ? 2 : 0;
  }
  const run = COMMANDS[cmd];
  if (!run) return usageError(`wray: unknown command '${cmd}'${cmd.startsWith("-") ? "" : ` (commands: ${Object.keys(COMMANDS).join(", ")})`}`, "wray --help");
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(HELP[cmd]!);
    return 0;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError || isParseArgsError(e)) return usageError(`wray ${cmd}: ${usageMessage(e as Error)}`, `wray ${cmd} --help`);
    if (e instanceof NoClusterHere) {
      process.stderr.write(`wray ${cmd}: ${e.message}\n`);
      return 1;
    }
    // a failure: one line (the stack with WRAY_DEBUG=1, for failures wray did not expect)
    const debug = process.env.WRAY_DEBUG && e instanceof Error && !(e instanceof WrayError);
    process.stderr.write(`wray ${cmd}: ${debug ? (e.stack ?? e.message) : e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/** One line saying what is wrong and where to look; exit code 2. */
function usageError(line: string, help: string): number {
  process.stderr.write(`${line}\nsee '${help}'\n`);
  return 2;
}

function isParseArgsError(e: unknown): boolean {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && (e as NodeJS.ErrnoException).code!.startsWith("ERR_PARSE_ARGS");
}

/** node:util parseArgs's messages, shortened to what the user typed wrong. */
function usageMessage(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  const name = /'(-[^']*?)(?: <value>)?'/.exec(e.message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && name) return `unknown option '${name}'`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && name) return /argument missing/.test(e.message) ? `option '${name}' needs a value` : `option '${name}' takes no value`;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `unexpected argument ${/'([^']*)'/.exec(e.message)?.[1] ?? ""}`.trim();
  return e.message.split("\n")[0]!;
}

function version(): string {
  try {
    // from the bundle: dist/cli.js, one level below package.json
    return (JSON.parse(readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8")) as { version: string }).version;
  } catch {
    return "(unknown version)";
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // a failure wray did not expect: one line (the stack with WRAY_DEBUG=1)
    const message = e instanceof Error ? (process.env.WRAY_DEBUG ? (e.stack ?? e.message) : e.message) : String(e);
    process.stderr.write(`wray: ${message}\n`);
    process.exitCode = 1;
  },
);

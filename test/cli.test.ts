/**
 * The `wray` command's manners: help for every command, a version, and
 * one line (no stack trace) for every ordinary mistake, with exit code 2
 * for usage errors and 1 for failures.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { processAlive, processIdentity } from "../common/process.js";
import { runNode } from "./cluster.js";
import { tempDir } from "./temp.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
let home: { path: string; remove(): Promise<void> };

before(async () => {
  home = await tempDir();
});

after(async () => {
  await home?.remove();
});

function wray(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, WRAY_HOME: home.path, ...extra };
  delete env.WRAY_TOKEN;
  delete env.WRAY_DEBUG;
  return runNode([CLI, ...args], env);
}

/** A mistake: exit code 2, the line given, then where to look; no stack. */
function usage(r: { code: number; stdout: string; stderr: string }, line: RegExp, help: string): void {
  assert.equal(r.code, 2, `exit code of: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0]!, line);
  assert.equal(lines[1], `see '${help}'`);
  assert.equal(r.stdout, "");
}

test("wray --version and help for every command", async () => {
  for (const flag of ["--version", "-V"]) {
    const v = await wray([flag]);
    assert.equal(v.code, 0);
    assert.equal(v.stdout, `wray ${VERSION}\n`);
  }
  const top = await wray(["--help"]);
  assert.equal(top.code, 0);
  for (const cmd of ["build", "start", "status", "job", "list", "summary", "get", "timeline", "logs", "memory", "stop"]) {
    assert.match(top.stdout, new RegExp(`^  ${cmd} `, "m"));
    for (const args of [[cmd, "--help"], [cmd, "-h"], ["help", cmd]]) {
      const r = await wray(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: wray ${cmd}`), `wray ${args.join(" ")}`);
      assert.equal(r.stderr, "");
    }
  }
  const start = await wray(["start", "--help"]);
  for (const flag of ["--node-ip-address", "--node-port", "--port", "--resources", "--token-file"]) assert.ok(start.stdout.includes(flag), flag);
  const bare = await wray([]);
  assert.equal(bare.code, 2);
  assert.match(bare.stdout, /^usage: wray <command>/);
});

test("usage mistakes: one line naming what is wrong and where to look, exit code 2", async () => {
  usage(await wray(["status", "--foo"]), /^wray status: unknown option '--foo'$/, "wray status --help");
  usage(await wray(["stop", "--force"]), /^wray stop: unknown option '--force'$/, "wray stop --help");
  usage(await wray(["frobnicate"]), /^wray: unknown command 'frobnicate' \(commands: build, start, status, job, list, summary, get, timeline, logs, memory, stop\)$/, "wray --help");
  usage(await wray(["build"]), /^wray build: give the entry file to build/, "wray build --help");
  usage(await wray(["build", "a.ts", "--lang", "cobol"]), /^wray build: unknown --lang 'cobol' \(known: /, "wray build --help");
  usage(await wray(["build", "a.ts", "-o"]), /^wray build: option '-o, --output' needs a value$/, "wray build --help");
  usage(await wray(["start"]), /^wray start: give --head \(start a cluster\) or --address/, "wray start --help");
  usage(await wray(["start", "--head", "--resources", "{bad"]), /^wray start: --resources is not valid JSON \(.*\): give an object, e\.g\. --resources '\{"memoryBound": 2\}'$/, "wray start --help");
  usage(await wray(["start", "--head", "--resources", '{"a": -1}']), /^wray start: --resources: 'a' must be a number >= 0/, "wray start --help");
  usage(await wray(["start", "--head", "--port", "http"]), /^wray start: --port must be a whole number >= 0, got 'http'$/, "wray start --help");
  usage(await wray(["start", "--head", "--port", "70000"]), /^wray start: --port must be a port number/, "wray start --help");
  usage(await wray(["start", "--address", "127.0.0.1:6380"]), /^wray start: --address must be the head's ws:\/\/HOST:PORT/, "wray start --help");
  usage(await wray(["start", "--address", "ws://127.0.0.1:6380", "--port", "5"]), /^wray start: --port is a head option/, "wray start --help");
  usage(await wray(["start", "--head", "--gpu-backend", "glide"]), /^wray start: --gpu-backend must be one of /, "wray start --help");
  usage(await wray(["job"]), /^wray job: say what to do: submit, list, status, logs or stop$/, "wray job --help");
  usage(await wray(["job", "run"]), /^wray job: unknown job command 'run' \(submit, list, status, logs, stop\)$/, "wray job --help");
  usage(await wray(["job", "submit", "app.wasm"]), /^wray job: give the entry task with --entry NAME$/, "wray job --help");
  usage(await wray(["job", "submit", "--entry", "main"]), /^wray job: give the component to run/, "wray job --help");
  usage(await wray(["job", "submit", "app.wasm", "--entry", "main", "--resources", "[1]"]), /^wray job: --resources must be a JSON object of numbers >= 0/, "wray job --help");
  usage(await wray(["job", "status"]), /^wray job: give the job's ID \(see `wray job list`\) to show$/, "wray job --help");
  usage(await wray(["job", "stop", "a", "b"]), /^wray job: expected one job ID, got a b$/, "wray job --help");
});

test("failures: one line, exit code 1, no stack", async () => {
  const missing = await wray(["build", "no-such-file.ts"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^wray build: .*no-such-file\.ts.*\n$/);
  const noJobs = await wray(["job", "list"]);
  assert.equal(noJobs.code, 1);
  assert.equal(noJobs.stderr, "wray job: no cluster on this machine (start one with `wray start --head`, or give --address ws://HEAD:PORT)\n");
  const none = await wray(["status"]);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, "wray status: no cluster on this machine (start one with `wray start --head`, or give --address ws://HEAD:PORT)\n");
  // a head nothing listens at (a port taken, then let go)
  const token = join(home.path, "token");
  writeFileSync(token, "a-token\n", { mode: 0o600 });
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  const refused = await wray(["status", "--address", `ws://127.0.0.1:${port}`, "--token-file", token]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`^wray status: cannot connect to ws://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\): nothing is listening there: is the head running`));
  assert.equal(refused.stderr.split("\n").length, 2, refused.stderr);
  const joining = await wray(["start", "--address", `ws://127.0.0.1:${port}`, "--num-gpus", "0", "--token-file", token]);
  assert.equal(joining.code, 1);
  assert.match(joining.stderr, /wray start: cannot connect to ws:\/\/127\.0\.0\.1:\d+ .*is the head running/);
  for (const r of [missing, none, refused, joining]) assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test("wray stop leaves alone a process that got the PID of a stale node file, and stops the process a file names exactly", async () => {
  const sleeper = spawn("sleep", ["120"], { stdio: "ignore" });
  const exited = new Promise<void>((r) => sleeper.once("exit", () => r()));
  const nodes = join(home.path, "nodes");
  const file = join(nodes, `${sleeper.pid}.json`);
  try {
    mkdirSync(nodes, { recursive: true });
    // a node that died; its PID now belongs to the sleep
    writeFileSync(file, JSON.stringify({ pid: sleeper.pid, nodeId: "ab".repeat(16), head: false, address: "ws://127.0.0.1:1", identity: "4242 node /old/dist/cli.js start --block" }));
    const stale = await wray(["stop"]);
    assert.equal(stale.code, 0, stale.stderr);
    assert.equal(stale.stdout, "no wray nodes are running on this machine\n");
    assert.ok(processAlive(sleeper.pid!) && sleeper.exitCode === null && sleeper.signalCode === null, "the sleep was signalled");
    assert.ok(!existsSync(file), "the stale file was removed");
    // a file from before identities were kept names no process for sure: removed, nothing signalled
    writeFileSync(file, JSON.stringify({ pid: sleeper.pid, nodeId: "ab".repeat(16), head: false, address: "ws://127.0.0.1:1" }));
    assert.equal((await wray(["stop"])).stdout, "no wray nodes are running on this machine\n");
    assert.equal(sleeper.signalCode, null);
    // the file a node writes (its start time and command line): that process is stopped
    writeFileSync(file, JSON.stringify({ pid: sleeper.pid, nodeId: "ab".repeat(16), head: false, address: "ws://127.0.0.1:1", identity: processIdentity(sleeper.pid!) }));
    const real = await wray(["stop"]);
    assert.equal(real.stdout, "stopped 1 wray node(s)\n");
    await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error("the recorded process was not stopped in 20 s")), 20_000).unref())]);
    assert.equal(sleeper.signalCode, "SIGTERM");
  } finally {
    sleeper.kill("SIGKILL");
    rmSync(file, { force: true });
  }
});

test("wray build says what it is doing once a build takes a while (here: from the start), and nothing for a quick one", async () => {
  const dir = await tempDir();
  try {
    const src = `${dir.path}/t.ts`;
    writeFileSync(src, "export function one(): number { return 1; }\n");
    const slow = await wray(["build", src, "-o", `${dir.path}/t.wasm`], { WRAY_PROGRESS_AFTER_MS: "1" });
    assert.equal(slow.code, 0, slow.stderr);
    assert.match(slow.stderr, /^wray build: bundling with esbuild and snapshotting QuickJS \(componentize-qjs\) \.\.\. \d+ s$/m);
    assert.match(slow.stdout, /^built .*t\.wasm/);
    const quick = await wray(["build", src, "-o", `${dir.path}/t2.wasm`], { WRAY_PROGRESS_AFTER_MS: "600000" });
    assert.equal(quick.code, 0);
    assert.equal(quick.stderr, "");
  } finally {
    await dir.remove();
  }
});

test("the state commands say there is no cluster here, and refuse bad arguments", async () => {
  for (const args of [["list", "tasks"], ["summary", "tasks"], ["get", "task", "0123456789abcdef"], ["timeline"], ["logs"], ["memory"]]) {
    const r = await wray(args);
    assert.equal(r.code, 1, `wray ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /no cluster on this machine/);
  }
  usage(await wray(["list"]), /^wray list: say what to list: tasks, actors, objects, nodes or drivers$/, "wray list --help");
  usage(await wray(["list", "tasks", "--limit", "0"]), /--limit takes a whole number >= 1/, "wray list --help");
  usage(await wray(["list", "tasks", "--filter", "nope"]), /--filter takes key=value, got 'nope'/, "wray list --help");
  usage(await wray(["get", "task", "zz"]), /a task ID is 8 to 32 hex digits/, "wray get --help");
});

/**
 * Starts a real cluster for a test: a head and hosts, each a process of
 * its own (`wray start --block`, from dist/), on loopback, with a
 * WRAY_HOME of the test's own. Everything is stopped and removed by
 * `stop()`, which tests call in `finally` (and `after`).
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./temp.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

export interface NodeProcess {
  proc: ChildProcess;
  /** First 8 hex digits of its node ID. */
  nodeId: string;
  /** Everything it printed so far. */
  output(): string;
  /** Lines it printed that match `re`. */
  lines(re: RegExp): string[];
}

export interface TestCluster {
  address: string;
  token: string;
  home: string;
  head: NodeProcess;
  hosts: NodeProcess[];
  /** Runs the CLI with this cluster's WRAY_HOME; resolves with its exit code and output. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Starts one more host. */
  addHost(args: string[]): Promise<NodeProcess>;
  /** Starts a head again on the last one's session (`--restore`), after it died; it becomes `head`. */
  restartHead(args?: string[]): Promise<NodeProcess>;
  stop(): Promise<void>;
}

function startProcess(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs = 60_000): Promise<{ node: NodeProcess; match: RegExpMatchArray }> {
  const proc = spawn(process.execPath, [CLI, "start", ...args, "--block"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const node: NodeProcess = {
    proc,
    nodeId: "",
    output: () => out,
    lines: (re) => out.split("\n").filter((l) => re.test(l)),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`node did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = out.match(ready);
      if (m && !node.nodeId) {
        clearTimeout(timer);
        node.nodeId = m[1] ?? "";
        resolve({ node, match: m });
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    proc.once("exit", (code) => {
      clearTimeout(timer);
      if (!node.nodeId) reject(new Error(`node exited with ${code} before it started:\n${out}`));
    });
  });
}

/** Runs `node ...args` with `env`; its exit code and output. Killed, and rejected naming it, after `timeoutMs`. */
export function runNode(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error(`node ${args.join(" ").slice(0, 200)} did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    p.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export async function startCluster(options: { heartbeatMs?: number; headArgs?: string[]; hosts?: string[][] } = {}): Promise<TestCluster> {
  const dir = await tempDir();
  const env: NodeJS.ProcessEnv = { ...process.env, WRAY_HOME: dir.path };
  delete env.WRAY_TOKEN;
  const procs: NodeProcess[] = [];
  const stop = async () => {
    for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGTERM");
    const deadline = Date.now() + 10_000;
    for (const p of procs) {
      while (p.proc.exitCode === null && p.proc.signalCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGKILL");
    }
    await dir.remove();
  };
  try {
    const head = await startProcess(
      ["--head", "--port", "0", "--heartbeat-ms", String(options.heartbeatMs ?? 500), ...(options.headArgs ?? ["--num-cpus", "1"])],
      env,
      /wray head started at (?:ws:\/\/\S+) \(node ([0-9a-f]{8})/,
    );
    procs.push(head.node);
    const address = /wray head started at (ws:\/\/\S+)/.exec(head.node.output())![1]!;
    const token = readFileSync(join(dir.path, "token"), "utf8").trim();
    const addHost = async (args: string[]) => {
      const h = await startProcess(["--address", address, ...args], env, /wray node ([0-9a-f]{8}) joined/);
      procs.push(h.node);
      return h.node;
    };
    const hosts: NodeProcess[] = [];
    for (const args of options.hosts ?? []) hosts.push(await addHost(args));
    const cli = (args: string[]) => runNode([CLI, ...args], env);
    const c: TestCluster = { address, token, home: dir.path, head: head.node, hosts, cli, addHost, stop, restartHead: async () => c.head };
    c.restartHead = async (args = []) => {
      const again = await startProcess(
        ["--head", "--restore", "--heartbeat-ms", String(options.heartbeatMs ?? 500), ...(options.headArgs ?? ["--num-cpus", "1"]), ...args],
        env,
        /wray head started at (?:wss?:\/\/\S+) \(node ([0-9a-f]{8})/,
      );
      procs.push(again.node);
      c.head = again.node;
      return again.node;
    };
    return c;
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Polls `cond` every 10 ms until it holds (or throws after `ms`). */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

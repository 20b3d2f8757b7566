/**
 * Files a machine's wray processes share: the cluster token, the head's
 * address (so `wray status` and `wray stop` need no flags), and one file
 * per running node (so `wray stop` finds them). All under ~/.wray, or
 * $WRAY_HOME.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { processAlive } from "../../common/process.js";

export function wrayHome(): string {
  return process.env.WRAY_HOME || join(homedir(), ".wray");
}

export function defaultTokenFile(): string {
  return join(wrayHome(), "token");
}

/** Reads the cluster token. Throws a TypeError that says where it looked. */
export async function readToken(file = defaultTokenFile()): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new TypeError(`no cluster token: cannot read ${file} (${(e as NodeJS.ErrnoException).code}); pass token or tokenFile, or set WRAY_TOKEN`);
  }
  const token = text.trim();
  if (token.length === 0) throw new TypeError(`the token file ${file} is empty`);
  return token;
}

/** The token in `file`, made (random, mode 0600) if the file does not exist. */
export function ensureToken(file = defaultTokenFile()): string {
  try {
    const t = readFileSync(file, "utf8").trim();
    if (t.length > 0) return t;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const token = randomBytes(24).toString("hex");
  mkdirSync(join(file, ".."), { recursive: true, mode: 0o700 });
  writeFileSync(file, token + "\n", { mode: 0o600 });
  return token;
}

export interface HeadFile {
  address: string;
  pid: number;
  tokenFile: string;
}

export function writeHeadFile(info: HeadFile): void {
  mkdirSync(wrayHome(), { recursive: true, mode: 0o700 });
  writeFileSync(join(wrayHome(), "head.json"), JSON.stringify(info));
}

export function readHeadFile(): HeadFile | undefined {
  try {
    return JSON.parse(readFileSync(join(wrayHome(), "head.json"), "utf8")) as HeadFile;
  } catch {
    return undefined;
  }
}

export function removeHeadFile(pid: number): void {
  if (readHeadFile()?.pid === pid) rmSync(join(wrayHome(), "head.json"), { force: true });
}

function nodesDir(): string {
  return join(wrayHome(), "nodes");
}

/** Records this process as a running node (for `wray stop`). */
export function writeNodeFile(info: { pid: number; nodeId: string; head: boolean; address: string }): void {
  mkdirSync(nodesDir(), { recursive: true, mode: 0o700 });
  writeFileSync(join(nodesDir(), `${info.pid}.json`), JSON.stringify(info));
}

export function removeNodeFile(pid: number): void {
  rmSync(join(nodesDir(), `${pid}.json`), { force: true });
}

/** Pids of the nodes recorded on this machine (files of dead processes are removed). */
export function runningNodes(): { pid: number; head: boolean }[] {
  let names: string[];
  try {
    names = readdirSync(nodesDir());
  } catch {
    return [];
  }
  const out: { pid: number; head: boolean }[] = [];
  for (const n of names) {
    const pid = Number(n.replace(/\.json$/, ""));
    if (!Number.isInteger(pid)) continue;
    if (!processAlive(pid)) {
      rmSync(join(nodesDir(), n), { force: true });
      continue;
    }
    let head = false;
    try {
      head = (JSON.parse(readFileSync(join(nodesDir(), n), "utf8")) as { head?: boolean }).head === true;
    } catch {
      // a file being written: count it as a plain node
    }
    out.push({ pid, head });
  }
  return out;
}

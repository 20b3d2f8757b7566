/**
 * Files a machine's wray processes share: the cluster token, the head's
 * address (so `wray status` and `wray stop` need no flags), and one file
 * per running node (so `wray stop` finds them). All under ~/.wray, or
 * $WRAY_HOME.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { processIdentity } from "../../common/process.js";
import type { TlsOptions } from "../../net/index.js";
import { InsecureFileError } from "../errors.js";

export function wrayHome(): string {
  return process.env.WRAY_HOME || join(homedir(), ".wray");
}

export function defaultTokenFile(): string {
  return join(wrayHome(), "token");
}

/**
 * Refuses a secret's file that other users may read or that another user
 * owns (InsecureFileError, with the fix). No POSIX owners (Windows): not checked.
 */
export function checkPrivate(file: string, what: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return; // the reader says it is missing
  if (st.uid !== uid) throw new InsecureFileError(file, what, `is owned by uid ${st.uid}, not by this user (uid ${uid})`);
  if ((st.mode & 0o077) !== 0) throw new InsecureFileError(file, what, `can be read or written by ${st.mode & 0o007 ? "every user" : "its group"} (mode ${(st.mode & 0o777).toString(8)})`);
}

/** Reads the cluster token. Throws a TypeError that says where it looked, InsecureFileError for a file others can read. */
export async function readToken(file = defaultTokenFile()): Promise<string> {
  checkPrivate(file, "the token file");
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
  checkPrivate(file, "the token file");
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
  /** The TLS files the head was started with (drivers on this machine use its CA). */
  tls?: TlsFiles;
  /** The head's session folder (its control store): `wray start --head --restore` starts a head on it again. */
  session?: string;
}

/** Paths of TLS material (PEM files). */
export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

/** TLS files named by $WRAY_TLS_CERT, $WRAY_TLS_KEY and $WRAY_TLS_CA (each may be unset). */
export function tlsFilesFromEnv(): TlsFiles {
  const f: TlsFiles = {};
  if (process.env.WRAY_TLS_CERT) f.cert = process.env.WRAY_TLS_CERT;
  if (process.env.WRAY_TLS_KEY) f.key = process.env.WRAY_TLS_KEY;
  if (process.env.WRAY_TLS_CA) f.ca = process.env.WRAY_TLS_CA;
  return f;
}

/**
 * Reads TLS files into what a transport takes (undefined when none is
 * named). The key must be private (InsecureFileError); without a CA, a
 * node trusts the system's CAs and its own certificate (a self-signed one
 * works on the machine that made it).
 */
export function readTlsFiles(f: TlsFiles): TlsOptions | undefined {
  if (f.cert === undefined && f.key === undefined && f.ca === undefined) return undefined;
  if ((f.cert === undefined) !== (f.key === undefined)) throw new TypeError(`TLS needs a certificate and its key together (got only the ${f.cert === undefined ? "key" : "certificate"})`);
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      throw new TypeError(`cannot read the TLS ${what} ${path} (${(e as NodeJS.ErrnoException).code})`);
    }
  };
  const out: TlsOptions = {};
  if (f.cert !== undefined && f.key !== undefined) {
    checkPrivate(f.key, "the TLS key");
    out.cert = read(f.cert, "certificate");
    out.key = read(f.key, "key");
  }
  if (f.ca !== undefined) out.ca = read(f.ca, "CA file");
  else if (out.cert !== undefined) out.ca = [...rootCertificates, out.cert].join("\n");
  return out;
}

export function writeHeadFile(info: HeadFile): void {
  mkdirSync(wrayHome(), { recursive: true, mode: 0o700 });
  writeFileSync(join(wrayHome(), "head.json"), JSON.stringify(info), { mode: 0o600 });
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

/**
 * Records this process as a running node (for `wray stop`), with its
 * identity (start time and command line), so that a file left behind by a
 * node that died is not taken for a later process that got its PID.
 */
export function writeNodeFile(info: { pid: number; nodeId: string; head: boolean; address: string }): void {
  mkdirSync(nodesDir(), { recursive: true, mode: 0o700 });
  writeFileSync(join(nodesDir(), `${info.pid}.json`), JSON.stringify({ ...info, identity: processIdentity(info.pid) }), { mode: 0o600 });
}

export function removeNodeFile(pid: number): void {
  rmSync(join(nodesDir(), `${pid}.json`), { force: true });
}

/** A node this machine's files record, and what identifies its process. */
export interface RunningNode {
  pid: number;
  head: boolean;
  identity: string;
}

/** Whether `n` is still the process its file recorded (not gone, and its PID not reused). */
export function stillRunning(n: RunningNode): boolean {
  return processIdentity(n.pid) === n.identity;
}

/**
 * The nodes recorded on this machine whose processes still run. Files of
 * processes that are gone, or whose PID now names another process, are
 * removed (and so are files without an identity, from before it was kept).
 */
export function runningNodes(): RunningNode[] {
  let names: string[];
  try {
    names = readdirSync(nodesDir());
  } catch {
    return [];
  }
  const out: RunningNode[] = [];
  for (const n of names) {
    const pid = Number(n.replace(/\.json$/, ""));
    if (!Number.isInteger(pid)) continue;
    let rec: { head?: boolean; identity?: unknown };
    try {
      rec = JSON.parse(readFileSync(join(nodesDir(), n), "utf8")) as { head?: boolean; identity?: unknown };
    } catch {
      continue; // a file being written: its node is starting
    }
    const node: RunningNode = { pid, head: rec.head === true, identity: typeof rec.identity === "string" ? rec.identity : "" };
    if (node.identity === "" || !stillRunning(node)) {
      rmSync(join(nodesDir(), n), { force: true });
      continue;
    }
    out.push(node);
  }
  return out;
}

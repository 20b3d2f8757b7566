/**
 * Spill files: where the object store puts objects it evicts from shared
 * memory, and where it reads them back from on `get`.
 *
 * Design assumptions:
 * - Objects are appended to the current file (fused, as Ray does), which
 *   takes no more writes past FILE_TARGET bytes. A file is deleted when the
 *   last object in it is freed; until then its dead bytes stay on disk.
 *   Spilled objects are large (above the inline limit), so a file holds
 *   tens to hundreds of them and the number of open descriptors stays small.
 * - I/O is synchronous, on the host thread: an allocation that needs room
 *   waits for the disk, and a restore happens before the bytes are handed
 *   out. That keeps every path that touches an object's bytes synchronous
 *   and cannot deadlock; the cost is that the host serves nothing else
 *   while it writes (the page cache absorbs most of it).
 * - Files are never synced: spilled objects die with the host anyway.
 * - The directory is this process's own (`wray-spill-<pid>-<random>`
 *   under the configured base), removed at close and at process exit;
 *   directories left by processes that no longer run are removed when a
 *   new one is made.
 */
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { SpillError } from "./errors.js";
import { processAlive } from "../common/process.js";

/** Past this many bytes a spill file takes no more objects. */
const FILE_TARGET = 256 << 20;
/** One read or write call moves at most this much (Linux caps a call near 2 GiB). */
const IO_CHUNK = 1 << 30;

interface SpillFile {
  readonly id: number;
  readonly path: string;
  fd: number;
  /** Bytes written. */
  size: number;
  /** Bytes of objects still alive in it. */
  live: number;
}

/** Where a spilled object's bytes are. */
export interface SpillRef {
  readonly file: SpillFile;
  readonly off: number;
  readonly len: number;
  /** Where in its first cache line the object started in memory (restored the same way). */
  readonly lead: number;
}

export interface SpillStats {
  /** The directory (undefined until the first spill). */
  directory: string | undefined;
  files: number;
  /** Bytes on disk, dead ones in live files included. */
  diskBytes: number;
  /** Bytes of live objects on disk. */
  liveBytes: number;
}

/** Directories of live stores, removed if the process exits without closing them. */
const openDirs = new Set<string>();
let exitHook = false;

function removeOpenDirs(): void {
  for (const d of openDirs) rmSync(d, { recursive: true, force: true });
  openDirs.clear();
}

export class SpillFiles {
  /** The directory spill directories are made in. */
  readonly base: string;
  #dir: string | undefined;
  #current: SpillFile | undefined;
  readonly #files = new Set<SpillFile>();
  #nextId = 0;
  #diskBytes = 0;
  #liveBytes = 0;
  #closed = false;

  constructor(base: string) {
    this.base = base;
  }

  /** Appends `bytes` to the current file; returns where they are. Throws SpillError. */
  write(bytes: Uint8Array, lead = 0): SpillRef {
    if (this.#closed) throw new SpillError("spilling into", this.base, new Error("the store is closed"));
    let f = this.#current;
    if (!f || f.size >= FILE_TARGET) f = this.#current = this.#open();
    const off = f.size;
    try {
      for (let at = 0; at < bytes.length; ) {
        at += writeSync(f.fd, bytes, at, Math.min(IO_CHUNK, bytes.length - at), off + at);
      }
    } catch (e) {
      // leave the file as it was: a later write starts at the same offset
      throw new SpillError("writing to", f.path, e);
    }
    f.size += bytes.length;
    f.live += bytes.length;
    this.#diskBytes += bytes.length;
    this.#liveBytes += bytes.length;
    return { file: f, off, len: bytes.length, lead };
  }

  /** Reads a spilled object into `into` (its length is the object's). Throws SpillError. */
  read(ref: SpillRef, into: Uint8Array): void {
    const f = ref.file;
    try {
      for (let at = 0; at < ref.len; ) {
        const n = readSync(f.fd, into, at, Math.min(IO_CHUNK, ref.len - at), ref.off + at);
        if (n === 0) throw new Error(`the file ends ${ref.len - at} bytes short`);
        at += n;
      }
    } catch (e) {
      throw new SpillError("reading from", f.path, e);
    }
  }

  /** The object at `ref` is gone: its file is deleted when nothing in it is alive. */
  free(ref: SpillRef): void {
    const f = ref.file;
    f.live -= ref.len;
    this.#liveBytes -= ref.len;
    if (f.live > 0) return;
    if (f !== this.#current) this.#drop(f);
    else {
      // the file being written holds nothing alive: start it over
      ftruncateSync(f.fd, 0);
      this.#diskBytes -= f.size;
      f.size = 0;
    }
  }

  stats(): SpillStats {
    return { directory: this.#dir, files: this.#files.size, diskBytes: this.#diskBytes, liveBytes: this.#liveBytes };
  }

  /** Closes every file and removes the directory. */
  close(): void {
    this.#closed = true;
    for (const f of this.#files) closeSync(f.fd);
    this.#files.clear();
    this.#current = undefined;
    if (this.#dir) {
      rmSync(this.#dir, { recursive: true, force: true });
      openDirs.delete(this.#dir);
    }
    this.#diskBytes = this.#liveBytes = 0;
  }

  #drop(f: SpillFile): void {
    closeSync(f.fd);
    try {
      unlinkSync(f.path);
    } catch {
      // already gone (someone cleaned the directory): nothing to reclaim
    }
    this.#files.delete(f);
    this.#diskBytes -= f.size;
  }

  /** A new file to append to; the full one before it stays open for reads until its objects are freed. */
  #open(): SpillFile {
    const dir = this.#directory();
    const path = join(dir, `${this.#nextId}.spill`);
    let fd: number;
    try {
      fd = openSync(path, "w+", 0o600);
    } catch (e) {
      throw new SpillError("creating", path, e);
    }
    const f: SpillFile = { id: this.#nextId++, path, fd, size: 0, live: 0 };
    this.#files.add(f);
    return f;
  }

  #directory(): string {
    if (this.#dir) return this.#dir;
    try {
      mkdirSync(this.base, { recursive: true });
      this.#removeStale();
      this.#dir = mkdtempSync(join(this.base, `wray-spill-${process.pid}-`));
    } catch (e) {
      throw new SpillError("making a spill directory in", this.base, e);
    }
    openDirs.add(this.#dir);
    if (!exitHook) {
      exitHook = true;
      process.once("exit", removeOpenDirs);
    }
    return this.#dir;
  }

  /** Removes spill directories of processes that ended without removing them (killed ones). */
  #removeStale(): void {
    for (const name of readdirSync(this.base)) {
      const m = /^wray-spill-(\d+)-/.exec(name);
      if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
      const path = join(this.base, name);
      try {
        rmSync(path, { recursive: true, force: true });
      } catch {
        // another process may be removing it too
      }
    }
  }
}

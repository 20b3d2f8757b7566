/// <reference path="./host.d.ts" />
// Globals that guest code expects but QuickJS, with WASI stubbed out, lacks
// or traps on: console, TextEncoder/TextDecoder, a working clock for Date
// and performance.now, and a Math.random seeded per instance (the snapshot
// taken at build time would otherwise give every instance one sequence).
// This module runs at build time inside Wizer, so it only defines
// functions; none of them calls the host until a task runs.
import host from "wray:runtime/host@0.1.0";
import { utf8Encode, utf8Read } from "./utf8.js";

type LogLevel = "debug" | "info" | "warn" | "error";

function show(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}` : `${v.name}: ${v.message}`;
  try {
    const s = JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}

function logger(level: LogLevel) {
  return (...args: unknown[]): void => host.log(level, args.map(show).join(" "));
}

const g = globalThis as Record<string, unknown>;

g.console = {
  log: logger("info"),
  info: logger("info"),
  debug: logger("debug"),
  warn: logger("warn"),
  error: logger("error"),
  trace: logger("debug"),
};

if (typeof g.TextEncoder === "undefined") {
  g.TextEncoder = class TextEncoder {
    readonly encoding = "utf-8";
    encode(s = ""): Uint8Array {
      return utf8Encode(String(s));
    }
  };
}
if (typeof g.TextDecoder === "undefined") {
  g.TextDecoder = class TextDecoder {
    readonly encoding = "utf-8";
    decode(b?: ArrayBufferView | ArrayBuffer): string {
      if (!b) return "";
      const u = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      return utf8Read(u, 0, u.length);
    }
  };
}

// Date: `new Date()` and `Date.now()` read the host's clock; everything else
// is the engine's own Date.
const RealDate = Date;
function WrayDate(this: unknown, ...args: unknown[]): unknown {
  if (!new.target) return new RealDate(host.now()).toString();
  return args.length === 0 ? new RealDate(host.now()) : new (RealDate as unknown as new (...a: unknown[]) => Date)(...args);
}
WrayDate.prototype = RealDate.prototype;
WrayDate.now = (): number => Math.floor(host.now());
WrayDate.parse = RealDate.parse;
WrayDate.UTC = RealDate.UTC;
g.Date = WrayDate;

let timeOrigin = -1;
g.performance = {
  now(): number {
    const t = host.now();
    if (timeOrigin < 0) timeOrigin = t;
    return t - timeOrigin;
  },
  get timeOrigin(): number {
    if (timeOrigin < 0) timeOrigin = host.now();
    return timeOrigin;
  },
};

// xoshiro128**, seeded from the host the first time it is used.
let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
let seeded = false;
function seed(): void {
  const a = Number(host.randomSeed());
  const b = Number(host.randomSeed());
  s0 = a >>> 0 || 1;
  s1 = Math.floor(a / 0x100000000) >>> 0;
  s2 = b >>> 0;
  s3 = Math.floor(b / 0x100000000) >>> 0 || 0x9e3779b9;
  seeded = true;
}
function next(): number {
  const r = Math.imul(((Math.imul(s1, 5) << 7) | (Math.imul(s1, 5) >>> 25)), 9);
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = (s3 << 11) | (s3 >>> 21);
  return r >>> 0;
}
Math.random = (): number => {
  if (!seeded) seed();
  // 53 random bits, as engines do
  return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
};

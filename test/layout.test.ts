// The source layout's rules (docs/architecture.md, "Folders"), checked on
// the files themselves: dependencies point one way, rooms are entered by
// their front, and big files carry a map of their parts.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const SOURCE = ["common", "gpu", "host", "net", "scheduler", "store", "guest-sdk"];
/** The rooms of host/, and the rooms each must never import. */
const NEVER: Record<string, string[]> = {
  isolate: ["node", "cluster", "head", "driver", "observe", "cli"],
  node: ["cluster", "head", "driver", "observe", "cli"],
  head: ["isolate", "node", "cluster", "driver", "observe", "cli"],
  cluster: ["driver", "observe", "cli"],
  driver: ["observe", "cli"],
  observe: ["isolate", "cluster", "driver", "cli"],
  cli: [],
};
const MAX_LINES = 500;

function sources(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(relative(root, p));
    }
  };
  for (const d of SOURCE) walk(join(root, d));
  return out.sort();
}

/** Relative imports (type-only ones too: they bind the layout as much as the others). */
function imports(file: string): string[] {
  const src = readFileSync(join(root, file), "utf8");
  const out: string[] = [];
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)) {
    out.push(relative(root, resolve(dirname(join(root, file)), m[1]!.replace(/\.js$/, ".ts"))));
  }
  return out;
}

const files = sources();
const graph = new Map(files.map((f) => [f, imports(f)]));

test("no import cycles among the source files", () => {
  const state = new Map<string, 1 | 2>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    state.set(f, 1);
    for (const d of graph.get(f) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 1) cycles.push([...path.slice(path.indexOf(d)), d].join(" → "));
      else if (!state.has(d)) visit(d, [...path, d]);
    }
    state.set(f, 2);
  };
  for (const f of files) if (!state.has(f)) visit(f, [f]);
  assert.deepEqual(cycles, []);
});

const roomOf = (f: string) => (f.startsWith(`host${sep}`) && f.split(sep).length > 2 ? f.split(sep)[1]! : undefined);

test("each room of host/ has a front (index.ts) that says what it does and what it never imports", () => {
  for (const room of Object.keys(NEVER)) {
    const front = join("host", room, "index.ts");
    assert.ok(files.includes(front), `${front} is missing`);
    const head = readFileSync(join(root, front), "utf8").replace(/^#!.*\n/, "").slice(0, 1500);
    assert.match(head, /^\/\*\*/, `${front} starts with what the room does`);
    if (room !== "cli") assert.match(head, /Never imports/, `${front} says what it must never import`);
  }
});

test("rooms import each other only through their fronts, and never against the grain", () => {
  const wrong: string[] = [];
  for (const [f, deps] of graph) {
    const from = roomOf(f);
    for (const d of deps) {
      const to = roomOf(d);
      if (to === undefined || to === from) continue;
      if (from !== undefined && NEVER[from]?.includes(to)) wrong.push(`${f} imports ${d} (${from} never imports ${to})`);
      if (from !== undefined && !d.endsWith(`${sep}index.ts`)) wrong.push(`${f} reaches into ${d} (import ${join("host", to, "index.ts")})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test(`no source file over ${MAX_LINES} lines without a map of its parts at the top`, () => {
  const big: string[] = [];
  for (const f of files) {
    const src = readFileSync(join(root, f), "utf8");
    const lines = src.split("\n").length;
    if (lines > MAX_LINES && !/This file's parts:/.test(src.slice(0, 4000))) big.push(`${f}: ${lines} lines`);
  }
  assert.deepEqual(big, []);
});

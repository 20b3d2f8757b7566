import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Driver, InitOptions } from "wray";
import { init } from "wray";

/** Path of a built guest fixture (scripts/build-guests.mjs). */
export function guest(name: string): string {
  return fileURLToPath(new URL(`./guests/${name}/${name}.wasm`, import.meta.url));
}

/** Starts an embedded cluster for one test and always shuts it down. */
export async function withRay<T>(options: InitOptions, fn: (ray: Driver) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const ray = await init({ log: (l) => lines.push(l), ...options });
  try {
    return await fn(ray);
  } finally {
    await ray.shutdown();
  }
}

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * Collects garbage and lets FinalizationRegistry callbacks run (they are
 * tasks of their own after a collection), so dropped ObjectRefs and views
 * release their objects.
 */
export async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Polls `cond` until it holds or `ms` pass; returns whether it held. */
export async function eventually(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await collect();
  }
  return true;
}

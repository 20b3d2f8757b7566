import { fileURLToPath } from "node:url";
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

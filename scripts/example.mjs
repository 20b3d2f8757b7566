// npm run example -- NAME [--size small|full]: runs examples/NAME/main.mjs.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../examples/", import.meta.url));
const [name, ...rest] = process.argv.slice(2);
const names = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(`${dir}${d.name}/main.mjs`)).map((d) => d.name);
if (!name || !names.includes(name)) {
  console.error(`usage: npm run example -- NAME [--size small|full]\nexamples: ${names.join(", ")}`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [`${dir}${name}/main.mjs`, ...rest], { stdio: "inherit" });
process.exit(r.status ?? 1);

#!/usr/bin/env node
/**
 * The `wray` command.
 *
 *   wray build <entry.ts|js|c> [-o out.wasm] [--opt-size] [--lang js|as|c|rust]
 *   wray start --head | --address ws://HEAD:PORT [options]
 *   wray status [--json]
 *   wray stop
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { GuestLanguage } from "../guest-sdk/index.js";
import { BuildError, GUEST_LANGUAGES, buildGuest } from "../guest-sdk/index.js";
import { start, status, stop } from "./cluster-cli.js";
import { prepareComponent } from "./component.js";

const USAGE = `usage: wray <command> [options]

commands:
  build <entry> [-o <out.wasm>] [--opt-size] [--lang js|as|c|rust]
      compile a guest into a WebAssembly component: TypeScript/JavaScript
      run by QuickJS (exported functions are tasks, exported classes
      actors), AssemblyScript compiled ahead of time (tasks and actors
      declared with task()/actor() from "wray/as"), C (declared with
      guest-sdk/c/wray.h) or Rust (wray::guest! from guest-sdk/rust).
      Without --lang: .c is C, .rs Rust; a module importing "wray/as" or
      beside an asconfig.json is AssemblyScript
  start --head [--port 6380] [--host 127.0.0.1] [--token-file ~/.wray/token]
        [--shards 4] [--heartbeat-ms 1000] [node options]
      start a cluster: the control store, the global scheduler and a node
      (the token file is made if missing)
  start --address ws://HEAD:PORT [--token-file F] [node options]
      start a node that joins the cluster
      node options: --num-cpus N --num-gpus N --gpu-backend vulkan|metal|d3d12|... --resources '{"name": n}'
                    --object-store-memory BYTES --block (stay in the foreground)
  status [--address ws://HEAD:PORT] [--token-file F] [--json]
      nodes, resources, load, objects and actors of the cluster
  stop
      stop the wray nodes running on this machine
  help
      show this text
`;

async function build(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { output: { type: "string", short: "o" }, "opt-size": { type: "boolean" }, lang: { type: "string" } },
  });
  if (positionals.length !== 1) {
    process.stderr.write(`wray build: expected one entry file, got ${positionals.length}\n\n${USAGE}`);
    return 2;
  }
  const t0 = performance.now();
  try {
    const lang = values.lang;
    if (lang !== undefined && !(GUEST_LANGUAGES as readonly string[]).includes(lang)) {
      process.stderr.write(`wray build: unknown --lang '${lang}' (known: ${GUEST_LANGUAGES.join(", ")})\n`);
      return 2;
    }
    const r = await buildGuest(positionals[0]!, { output: values.output, optimizeSize: values["opt-size"], lang: lang as GuestLanguage | undefined });
    const ms = (performance.now() - t0).toFixed(0);
    // what a host will see: the component's own description (this also warms the load cache)
    const { manifest } = await prepareComponent(await readFile(r.output), r.output);
    const classes = Object.entries(manifest.actors).map(([c, methods]) => `${c} (${methods.join(", ")})`);
    const parts = [`tasks: ${manifest.tasks.join(", ") || "none"}`];
    if (classes.length > 0) parts.push(`actor classes: ${classes.join(", ")}`);
    const ignored = r.exports.filter((e) => !manifest.tasks.includes(e) && !(e in manifest.actors));
    process.stdout.write(`built ${r.output} (${(r.bytes / 1024).toFixed(0)} KiB) in ${ms} ms; ${parts.join("; ")}\n`);
    if (ignored.length > 0) process.stdout.write(`  not tasks or actors, ignored: ${ignored.join(", ")} (only exported functions and classes run in wray)\n`);
    return 0;
  } catch (e) {
    if (e instanceof BuildError) {
      process.stderr.write(`wray build: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "build":
      return build(rest);
    case "start":
      return start(rest);
    case "stop":
      return stop(rest);
    case "status":
      return status(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`wray: unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`wray: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);

import { defineConfig } from "tsup";

export default defineConfig([
  {
    // host-side fronts; shared code goes to common chunks, so classes exist once
    entry: {
      index: "index.ts",
      host: "host/index.ts",
      cli: "host/cli/index.ts",
      worker: "host/isolate/worker.ts",
      "table-worker": "host/driver/table-worker.ts",
      "copier-worker": "store/copier-worker.ts",
    },
    format: "esm",
    platform: "node",
    target: "node20",
    splitting: true,
    // the GPU classes' types name WebGPU's (GPUBuffer, ...): a project type-checking wray's declarations needs them
    dts: { entry: { index: "index.ts", host: "host/index.ts" }, banner: '/// <reference types="@webgpu/types" />' },
    sourcemap: true,
    external: ["@bytecodealliance/jco", "componentize-qjs", "esbuild", "@msgpack/msgpack", "assemblyscript", "assemblyscript/asc"],
  },
  {
    // the guest SDK runs inside QuickJS: one self-contained module, no Node APIs
    entry: { guest: "guest-sdk/runtime/index.ts" },
    format: "esm",
    platform: "neutral",
    target: "es2022",
    splitting: false,
    dts: true,
    external: ["wray:runtime/host@0.1.0", "wray:runtime/gpu@0.1.0"],
  },
]);

/**
 * The guest SDK's build side: compiling guest modules to components.
 * (What guest code itself imports is `wray/guest`, in runtime/.)
 */
export { buildGuest, witDir } from "./build.js";
export type { BuildOptions, BuildResult } from "./build.js";
export { BuildError } from "./errors.js";
export { buildCGuest, componentFromCore, cToolchainAvailable } from "./build-native.js";
export type { NativeBuildOptions } from "./build-native.js";

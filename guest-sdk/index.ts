/**
 * The guest SDK's build side: compiling guest modules to components.
 * (What guest code itself imports is `wray/guest`, in runtime/.)
 */
export { GUEST_LANGUAGES, buildGuest, guestLanguage, witDir } from "./build.js";
export type { BuildOptions, BuildResult, GuestLanguage } from "./build.js";
export { asToolchainAvailable, buildAsGuest } from "./build-as.js";
export type { AsBuildOptions } from "./build-as.js";
export { BuildError } from "./errors.js";
export { buildCGuest, buildRustGuest, componentFromCore, cToolchainAvailable, rustToolchainAvailable } from "./build-native.js";
export { renameExports } from "../common/wasm-binary.js";
export type { NativeBuildOptions } from "./build-native.js";

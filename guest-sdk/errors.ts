import { WrayError } from "../common/errors.js";

/** `wray build` could not produce a component; the message says why and where. */
export class BuildError extends WrayError {
  /** Compiler diagnostics, one per line, as `file:line:column: message`. */
  readonly diagnostics: readonly string[];
  constructor(message: string, diagnostics: readonly string[] = []) {
    super("WRAY_BUILD_FAILED", diagnostics.length > 0 ? `${message}\n${diagnostics.map((d) => `  ${d}`).join("\n")}` : message);
    this.diagnostics = diagnostics;
  }
}

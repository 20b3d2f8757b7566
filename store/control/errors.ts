import { WrayError } from "../../common/errors.js";

/** The control store could not open a shard, or a write to it failed (nothing of that write was kept). */
export class ControlStoreError extends WrayError {
  constructor(message: string, cause?: unknown) {
    super("WRAY_CONTROL_STORE_ERROR", message, cause === undefined ? undefined : { cause });
  }
}

// The globals of wray's guest sandbox (the SDK's polyfills provide them;
// console goes to the host's log), for guest projects type-checked without
// the DOM library: `"lib": ["ES2023"], "types": ["wray/guest/sandbox"]`.
// A project with the default libraries (DOM included) needs none of this.
// It is kept out of "wray/guest" so that a driver importing a guest
// module's types does not get the sandbox's globals.

interface Console {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  debug(...data: unknown[]): void;
  trace(...data: unknown[]): void;
}
declare var console: Console;

interface Performance {
  /** Milliseconds since the first call in this instance, from the host's clock. */
  now(): number;
  readonly timeOrigin: number;
}
declare var performance: Performance;

interface TextEncoder {
  encode(input?: string): Uint8Array;
}
declare var TextEncoder: { prototype: TextEncoder; new (): TextEncoder };

interface TextDecoder {
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
declare var TextDecoder: { prototype: TextDecoder; new (): TextDecoder };

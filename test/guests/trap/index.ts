// Guests that trap (the sandbox stops them), not just throw.

/** The engine's own clock is stubbed out of the sandbox: calling it traps (unreachable). */
export function trapClock(): number {
  const RealDate = Date.prototype.constructor as DateConstructor;
  return RealDate.now();
}

export function recurse(n: number): number {
  return n <= 0 ? 0 : 1 + recurse(n - 1);
}

export function ok(): string {
  return "still fine";
}

// A guest that never returns.
export function forever(): number {
  let i = 0;
  for (;;) i = (i + 1) | 0;
}

export function quick(x: number): number {
  return x + 1;
}

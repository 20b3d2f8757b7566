// A guest that allocates until memory runs out.
export function exhaust(): number {
  const hold: Uint8Array[] = [];
  for (;;) hold.push(new Uint8Array(64 << 20));
}

/** Allocates `mb` MiB (touching every page) and returns how many it holds. */
export function allocate(mb: number): number {
  const b = new Uint8Array(mb << 20);
  for (let i = 0; i < b.length; i += 4096) b[i] = 1;
  return b.length >> 20;
}

export function small(): number {
  return 42;
}

/** An actor that keeps what it allocates. */
export class Hog {
  held: Uint8Array[] = [];
  grow(mb: number): number {
    const b = new Uint8Array(mb << 20);
    for (let i = 0; i < b.length; i += 4096) b[i] = 1;
    this.held.push(b);
    return this.held.length * mb;
  }
  ping(): string {
    return "pong";
  }
}

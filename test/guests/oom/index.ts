// A guest that allocates until memory runs out.
export function exhaust(): number {
  const hold: Uint8Array[] = [];
  for (;;) hold.push(new Uint8Array(64 << 20));
}

export function small(): number {
  return 42;
}

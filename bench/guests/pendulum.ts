// The `guest compute` kernel (bench/run.mjs): Pendulum-v1 rollouts driven by
// a small dense policy (3 → 16 tanh → 1), weights from a seeded LCG. The same
// arithmetic is in pendulum.c and in bench/run.mjs (plain Node), so the
// rows compare one computation across guest languages.

export function pendulum(steps: number, seed: number): number {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const w1 = new Float64Array(48);
  const b1 = new Float64Array(16);
  const w2 = new Float64Array(16);
  for (let i = 0; i < 48; i++) w1[i] = rnd();
  for (let i = 0; i < 16; i++) b1[i] = rnd();
  for (let i = 0; i < 16; i++) w2[i] = rnd();
  const b2 = rnd();
  let th = rnd() * 2 * Math.PI;
  let thdot = rnd() * 2;
  let total = 0;
  for (let t = 0; t < steps; t++) {
    const c = Math.cos(th);
    const sn = Math.sin(th);
    let a = b2;
    for (let j = 0; j < 16; j++) a += w2[j]! * Math.tanh(w1[j * 3]! * c + w1[j * 3 + 1]! * sn + w1[j * 3 + 2]! * thdot + b1[j]!);
    let u = 2 * Math.tanh(a);
    if (u > 2) u = 2;
    else if (u < -2) u = -2;
    const an = ((((th + Math.PI) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI)) - Math.PI;
    total -= an * an + 0.1 * thdot * thdot + 0.001 * u * u;
    thdot += (15 * sn + 3 * u) * 0.05;
    if (thdot > 8) thdot = 8;
    else if (thdot < -8) thdot = -8;
    th += thdot * 0.05;
  }
  return total;
}

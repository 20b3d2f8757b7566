// The `guest compute` kernel in AssemblyScript: see pendulum.ts (the same arithmetic).
import { Args, Out, task } from "wray/as";

function pendulum(steps: i64, seed: u32): f64 {
  let s = seed;
  const w1 = new StaticArray<f64>(48);
  const b1 = new StaticArray<f64>(16);
  const w2 = new StaticArray<f64>(16);
  for (let i = 0; i < 48; i++) {
    s = s * 1664525 + 1013904223;
    unchecked((w1[i] = <f64>s / 4294967296.0 - 0.5));
  }
  for (let i = 0; i < 16; i++) {
    s = s * 1664525 + 1013904223;
    unchecked((b1[i] = <f64>s / 4294967296.0 - 0.5));
  }
  for (let i = 0; i < 16; i++) {
    s = s * 1664525 + 1013904223;
    unchecked((w2[i] = <f64>s / 4294967296.0 - 0.5));
  }
  s = s * 1664525 + 1013904223;
  const b2 = <f64>s / 4294967296.0 - 0.5;
  s = s * 1664525 + 1013904223;
  let th = (<f64>s / 4294967296.0 - 0.5) * 2 * Math.PI;
  s = s * 1664525 + 1013904223;
  let thdot = (<f64>s / 4294967296.0 - 0.5) * 2;
  let total = 0.0;
  for (let t: i64 = 0; t < steps; t++) {
    const c = Math.cos(th);
    const sn = Math.sin(th);
    let a = b2;
    for (let j = 0; j < 16; j++) {
      a += unchecked(w2[j]) * Math.tanh(unchecked(w1[j * 3]) * c + unchecked(w1[j * 3 + 1]) * sn + unchecked(w1[j * 3 + 2]) * thdot + unchecked(b1[j]));
    }
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

task("pendulum", (a: Args, out: Out): void => {
  const steps = a.i64();
  const seed = <u32>a.i64();
  out.f64(pendulum(steps, seed));
});

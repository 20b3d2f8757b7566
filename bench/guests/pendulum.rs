//! The `guest compute` kernel in Rust: see pendulum.ts (the same arithmetic).
use std::f64::consts::PI;
use wray::{Args, Out, Result};

fn pendulum(steps: i64, seed: u32) -> f64 {
    let mut s = seed;
    let mut rnd = || {
        s = s.wrapping_mul(1664525).wrapping_add(1013904223);
        s as f64 / 4294967296.0 - 0.5
    };
    let mut w1 = [0.0f64; 48];
    let mut b1 = [0.0f64; 16];
    let mut w2 = [0.0f64; 16];
    for w in w1.iter_mut() {
        *w = rnd();
    }
    for b in b1.iter_mut() {
        *b = rnd();
    }
    for w in w2.iter_mut() {
        *w = rnd();
    }
    let b2 = rnd();
    let mut th = rnd() * 2.0 * PI;
    let mut thdot = rnd() * 2.0;
    let mut total = 0.0;
    for _ in 0..steps {
        let (sn, c) = th.sin_cos();
        let mut a = b2;
        for j in 0..16 {
            a += w2[j] * (w1[j * 3] * c + w1[j * 3 + 1] * sn + w1[j * 3 + 2] * thdot + b1[j]).tanh();
        }
        let u = (2.0 * a.tanh()).clamp(-2.0, 2.0);
        let an = (((th + PI) % (2.0 * PI)) + 2.0 * PI) % (2.0 * PI) - PI;
        total -= an * an + 0.1 * thdot * thdot + 0.001 * u * u;
        thdot = (thdot + (15.0 * sn + 3.0 * u) * 0.05).clamp(-8.0, 8.0);
        th += thdot * 0.05;
    }
    total
}

fn pendulum_task(a: &mut Args, out: &mut Out) -> Result<()> {
    let steps = a.i64()?;
    let seed = a.i64()? as u32;
    out.f64(pendulum(steps, seed));
    Ok(())
}

wray::guest! {
    tasks: { "pendulum" => pendulum_task },
}

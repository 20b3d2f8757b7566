// The served network in plain JavaScript (the same arithmetic as model.c,
// up to float rounding): the plain Node server's model.
export const HIDDEN = 32;
export const OUTPUTS = 8;

/** Deterministic weights for `inputs` inputs, laid out as model.c reads them. */
export function weights(inputs) {
  return Float32Array.from({ length: inputs * HIDDEN + HIDDEN + HIDDEN * OUTPUTS + OUTPUTS }, (_, i) => Math.sin(i * 0.37) / Math.sqrt(inputs));
}

/** Evaluates rows of `x` (Float32Array, rows × inputs) with weights `w`. */
export function predict(w, inputs, x) {
  const rows = x.length / inputs;
  const b1 = inputs * HIDDEN;
  const w2 = b1 + HIDDEN;
  const b2 = w2 + HIDDEN * OUTPUTS;
  const out = new Float32Array(rows * OUTPUTS);
  // accumulated in doubles (V8's fast path), rounded to float32 as model.c holds them
  const h = new Float64Array(HIDDEN);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < HIDDEN; j++) h[j] = w[b1 + j];
    for (let i = 0; i < inputs; i++) {
      const xi = x[r * inputs + i];
      const wi = i * HIDDEN;
      for (let j = 0; j < HIDDEN; j++) h[j] += xi * w[wi + j];
    }
    for (let j = 0; j < HIDDEN; j++) h[j] = Math.fround(h[j]);
    for (let k = 0; k < OUTPUTS; k++) out[r * OUTPUTS + k] = w[b2 + k];
    for (let j = 0; j < HIDDEN; j++) {
      const hj = h[j] > 0 ? h[j] : 0;
      for (let k = 0; k < OUTPUTS; k++) out[r * OUTPUTS + k] += hj * w[w2 + j * OUTPUTS + k];
    }
  }
  return out;
}

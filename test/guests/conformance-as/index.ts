// The guest conformance behaviours (test/guests/README.md), in AssemblyScript.
import { Args, EXT_MAP, EXT_SET, Out, ObjectRef, Writer, actor, get, submit, task } from "wray/as";

// echo(x) -> x, whatever x is
task("echo", (a: Args, out: Out): void => {
  if (a.count != 1) {
    out.fail("TypeError", "echo(x) takes one value");
    return;
  }
  out.value(a);
});

// add(a, b) -> a + b
task("add", (a: Args, out: Out): void => {
  if (a.count != 2) {
    out.fail("TypeError", "add(a, b) takes two numbers");
    return;
  }
  const x = a.f64();
  const y = a.f64();
  if (a.error !== null) {
    out.fail("TypeError", "add(a, b) takes two numbers");
    return;
  }
  out.f64(x + y);
});

// fail(message): fails with an Error carrying the message
task("fail", (a: Args, out: Out): void => {
  out.fail("Error", a.str());
});

// trap(): reaches unreachable
task("trap", (a: Args, out: Out): void => {
  unreachable();
});

task("square", (a: Args, out: Out): void => {
  const x = a.f64();
  out.f64(x * x);
});

// sumSquares(n): submits square(i) for i < n as nested tasks and sums their results
task("sumSquares", (a: Args, out: Out): void => {
  const n = a.i32();
  if (a.error !== null || n < 0 || n > 10000) {
    out.fail("TypeError", "sumSquares(n) takes a count");
    return;
  }
  const refs = new Array<ObjectRef>(n);
  const args = new Writer();
  for (let i = 0; i < n; i++) refs[i] = submit("square", args.reset().array(1).i32(i))[0];
  const values = get(refs);
  if (values.failed) {
    out.failWith(values);
    return;
  }
  let sum = 0.0;
  for (let i: u32 = 0; i < values.count; i++) sum += values.f64();
  out.f64(sum);
});

// Counter actor: new Counter(start), incr(by) -> value, get() -> value
let counter = 0.0;

actor("Counter", (a: Args, out: Out): void => {
  counter = a.count > 0 ? a.f64() : 0;
})
  .method("incr", (a: Args, out: Out): void => {
    counter += a.count > 0 ? a.f64() : 1;
    out.f64(counter);
  })
  .method("get", (a: Args, out: Out): void => {
    out.f64(counter);
  });

// tally(map, set, buffer): [map.size, sum of its values, set.size, sum of it, buffer bytes, sum of them]
task("tally", (a: Args, out: Out): void => {
  const m = a.mapExt();
  const s = a.setExt();
  const b = a.arrayBuffer();
  if (a.count != 3 || a.error !== null) {
    out.fail("TypeError", "tally(map, set, buffer) takes a Map, a Set and an ArrayBuffer");
    return;
  }
  let mv = 0.0;
  for (let i: u32 = 0; i < m.count; i++) {
    m.r.skip();
    mv += m.r.f64();
  }
  let sv = 0.0;
  for (let i: u32 = 0; i < s.count; i++) sv += s.r.f64();
  let bv = 0.0;
  for (let i = 0; i < b.length; i++) bv += <f64>b[i];
  if (m.r.error !== null || s.r.error !== null) {
    out.fail("TypeError", "the Map's values and the Set's elements must be numbers");
    return;
  }
  out.array(6).i64(m.count).f64(mv).i64(s.count).f64(sv).i64(b.length).f64(bv);
});

// collections(n): [Map of "k<i>" -> i, Set of 0..n-1, ArrayBuffer of bytes i & 255], for i < n
task("collections", (a: Args, out: Out): void => {
  const n = a.i32();
  if (a.error !== null || n < 0 || n > 100000) {
    out.fail("TypeError", "collections(n) takes a count");
    return;
  }
  out.array(3);
  let at = out.beginExt(EXT_MAP);
  out.map(n);
  for (let i = 0; i < n; i++) out.str("k" + i.toString()).i32(i);
  out.endExt(at);
  at = out.beginExt(EXT_SET);
  out.array(n);
  for (let i = 0; i < n; i++) out.i32(i);
  out.endExt(at);
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = <u8>(i & 255);
  out.arrayBuffer(bytes);
});

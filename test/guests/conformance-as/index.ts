// The guest conformance behaviours (test/guests/README.md), in AssemblyScript.
import { Args, Out, ObjectRef, Writer, actor, get, submit, task } from "wray/as";

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

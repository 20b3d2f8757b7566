import assert from "node:assert/strict";
import { test } from "node:test";
import { maxArgs } from "../../guest-sdk/runtime/arity.js";

test("maxArgs reads how many arguments a function takes from its source", () => {
  const cases: [unknown, number | undefined][] = [
    [function none() {}, 0],
    [function two(a: number, b: number) { return a + b; }, 2],
    [function defaults(a: number, b = 2, c = "x,y") { return a + b + c; }, 3],
    [function destructured({ a, b }: { a: number; b: number }, [c, d] = [1, 2], e = f(1, 2)) { return [a, b, c, d, e]; }, 3],
    // eslint-disable-next-line prefer-rest-params
    [function variadic() { return arguments.length; }, undefined],
    [function rest(a: number, ...more: number[]) { return a + more.length; }, undefined],
    [(x: number) => x, 1],
    [(x: number, y: number) => x + y, 2],
    [() => 0, 0],
    [function commented(a: number /* , b */, /* c, */ d: string) { return a + d; }, 2],
    [function strings(a = ")", b = "(,", c = `,${")"}`) { return a + b + c; }, 3],
    [class Counter { constructor(start = 0, step = 1) { void start; void step; } inc(by = 1) { return by; } }, 2],
    [class NoCtor { method(a: number, b: number) { return a + b; } }, 0],
    [class Derived extends Error {}, undefined],
    [Math.max, undefined],
  ];
  for (const [fn, want] of cases) assert.equal(maxArgs(fn), want, String(fn).slice(0, 60));
  const obj = { method(a: number, b: number, c: number) { return a + b + c; } };
  assert.equal(maxArgs(obj.method), 3, "method shorthand");
  assert.equal(maxArgs(42), undefined);
});

function f(a: number, b: number): number {
  return a + b;
}

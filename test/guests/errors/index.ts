// Failures that guests raise.
import { get, remote } from "wray/guest";

export function fail(message: string): never {
  throw new TypeError(message);
}

export function failWithString(): never {
  throw "a plain string";
}

export function ok(x: number): number {
  return x;
}

/** Gets a failing child: the failure surfaces here, and, uncaught, fails this task too. */
export function parentOfFailure(): number {
  return get(remote(fail, "child broke"));
}

/** Catches a failing child and reports what it saw. */
export function catchChild(): string {
  try {
    get(remote(fail, "child broke"));
    return "no error";
  } catch (e) {
    const err = e as { name: string; code: string; message: string };
    return `${err.name} ${err.code}: ${err.message}`;
  }
}

export function callsUnknown(): number {
  return get(remote("noSuchTask")) as number;
}

export function wrongReturnCount(): number[] {
  return [1, 2, 3];
}

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

/** Returns a class instance, which cannot travel: the task fails naming where it is. */
export function returnsInstance(): { points: Point[] } {
  return { points: [new Point(3, 4)] };
}

/** Submits a task with a function in its arguments, catches the refusal and reports it. */
export function submitsFunction(): string {
  try {
    remote(ok, { f: () => 1 } as unknown as number);
    return "submitted";
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

// The `guest` interface of wit/runtime.wit as core exports, by hand: the
// canonical ABI with one memory and UTF-8 strings. `wray build --lang as`
// re-exports these from a generated entry and renames them to the
// component model's names (`wray:runtime/guest@0.1.0#invoke`, ...).
//
// Memory: lists the host passes in are allocated by cabi_realloc on the raw
// heap and freed once the call returns. A reply is an Out's GC-managed
// buffer, kept alive on the `live` stack until the host's post-return call;
// Outs and Args are then reused, so a call allocates nothing of its own.
import { ActorClass, actors, Args, Entry, Out, TaskFn, tasks } from "./guest";
import { log, Level } from "./host";

const RET = memory.data(8);
let current: ActorClass | null = null;

export function cabi_realloc(old: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (newSize == 0) return align; // an empty list: no block, nothing to free later
  return old == 0 ? heap.alloc(newSize) : heap.realloc(old, newSize);
}

// the one of `list` (Entries or ActorClasses) whose UTF-8 name is the lowered ptr/len, or null
function lookup<T>(list: T[], ptr: usize, len: usize): T | null {
  for (let i = 0; i < list.length; i++) {
    const e = unchecked(list[i]);
    if (<usize>e.key.byteLength == len && memory.compare(changetype<usize>(e.key), ptr, len) == 0) return e;
  }
  return null;
}

function fnOf(e: Entry | null): TaskFn | null {
  return e === null ? null : e.fn;
}

// replies the host has not read yet (calls nest while a method waits, and
// post-return follows each call at once, so this is a stack), and spares
const live: Out[] = [];
const spare: Out[] = [];
const spareArgs: Args[] = [];
// a reused Out keeps its buffer unless a large reply grew it
const KEEP_BYTES = 64 << 10;

function takeOut(): Out {
  if (spare.length == 0) return new Out();
  const o = spare.pop();
  o.len = 0;
  o.failed = false;
  return o;
}

function reply(out: Out): usize {
  live.push(out);
  store<usize>(RET, changetype<usize>(out.buf));
  store<u32>(RET, out.len, 4);
  return RET;
}

function unknown(out: Out, kind: string, name: string): void {
  out.len = 0;
  out.failed = true;
  out.map(4).str("code").str("WRAY_UNKNOWN_FUNCTION").str("name").str("WrayError");
  out.str("message").str(kind + " '" + name + "' is not exported by this component").str("stack").str("");
}

// runs fn over the lowered args; the reply is an array of numReturns values or a failure map
function dispatch(fn: TaskFn | null, kind: string, namePtr: usize, nameLen: usize, argsPtr: usize, argsLen: usize, numReturns: u32): usize {
  const out = takeOut();
  if (fn === null) {
    unknown(out, kind, String.UTF8.decodeUnsafe(namePtr, nameLen));
  } else {
    const a = spareArgs.length > 0 ? spareArgs.pop() : new Args();
    a.reset(argsPtr, argsPtr + argsLen, numReturns);
    if (a.error !== null) {
      out.fail("TypeError", "the arguments are not a MessagePack array");
    } else {
      out.array(numReturns);
      const head = out.len;
      fn(a, out);
      if (!out.failed) {
        const err = a.error;
        if (err !== null) {
          out.fail("TypeError", kind + " '" + String.UTF8.decodeUnsafe(namePtr, nameLen) + "' got a bad argument: " + err + " of its arguments");
        } else if (numReturns == 0) {
          out.len = 0; // a constructor returns nothing, whatever it wrote
          out.array(0);
        } else if (out.len == head) {
          out.fail("TypeError", kind + " '" + String.UTF8.decodeUnsafe(namePtr, nameLen) + "' returned without writing its result");
        }
      }
    }
    a.rewind(0, 0);
    spareArgs.push(a);
  }
  if (nameLen > 0) heap.free(namePtr);
  if (argsLen > 0) heap.free(argsPtr);
  return reply(out);
}

export function wray_invoke(namePtr: usize, nameLen: usize, argsPtr: usize, argsLen: usize, numReturns: u32): usize {
  return dispatch(fnOf(lookup(tasks, namePtr, nameLen)), "task", namePtr, nameLen, argsPtr, argsLen, numReturns);
}

export function wray_construct(namePtr: usize, nameLen: usize, argsPtr: usize, argsLen: usize): usize {
  const c = lookup(actors, namePtr, nameLen);
  let fn: TaskFn | null = null;
  if (c !== null) {
    current = c;
    fn = c.construct;
  }
  return dispatch(fn, "actor class", namePtr, nameLen, argsPtr, argsLen, 0);
}

export function wray_call(namePtr: usize, nameLen: usize, argsPtr: usize, argsLen: usize, numReturns: u32): usize {
  const c = current;
  let fn: TaskFn | null = null;
  if (c !== null) fn = fnOf(lookup(c.methods, namePtr, nameLen));
  return dispatch(fn, "method", namePtr, nameLen, argsPtr, argsLen, numReturns);
}

export function wray_describe(): usize {
  const out = takeOut();
  out.map(2).str("tasks").array(tasks.length);
  for (let i = 0; i < tasks.length; i++) out.str(unchecked(tasks[i]).name);
  out.str("actors").map(actors.length);
  for (let i = 0; i < actors.length; i++) {
    const c = unchecked(actors[i]);
    out.str(c.name).array(c.methods.length);
    for (let j = 0; j < c.methods.length; j++) out.str(unchecked(c.methods[j]).name);
  }
  return reply(out);
}

function post(ret: usize): void {
  const o = live.pop();
  if (o.buf.byteLength > KEEP_BYTES) o.buf = new ArrayBuffer(64);
  spare.push(o);
}
export function wray_post_invoke(ret: usize): void { post(ret); }
export function wray_post_construct(ret: usize): void { post(ret); }
export function wray_post_call(ret: usize): void { post(ret); }
export function wray_post_describe(ret: usize): void { post(ret); }

let aborting = false;

// `abort` (a thrown error, a failed assertion, an out-of-range index): logs
// where, then traps — the task fails with GuestTrapError, the host lives on
export function wrayAbort(message: string | null, file: string | null, line: u32, column: u32): void {
  if (!aborting) {
    aborting = true; // logging allocates: an abort for lack of memory must not recurse
    const m = message === null ? "abort" : message;
    const where = file === null ? "" : " at " + file + ":" + line.toString() + ":" + column.toString();
    log(m + where, Level.Error);
    aborting = false;
  }
  unreachable();
}

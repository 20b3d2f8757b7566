// How many arguments a guest function takes at most, read from its source
// text (Function.prototype.toString, the same in QuickJS and V8), so calls
// with more are refused where they are made, as Ray refuses them. Fewer
// cannot be refused: TypeScript's optional parameters (`x?: number`)
// compile to plain ones, and a missing argument is `undefined`, as in any
// JavaScript call.

/**
 * The most arguments `fn` uses, or undefined when that is not known: a
 * rest parameter, a use of `arguments`, a class that extends another
 * without a constructor of its own, native or unparsable code.
 */
export function maxArgs(fn: unknown): number | undefined {
  if (typeof fn !== "function") return undefined;
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    return undefined;
  }
  if (/\[native code\]\s*\}\s*$/.test(src)) return undefined;
  let open: number;
  if (/^class\b/.test(src)) {
    open = constructorParams(src);
    if (open < 0) return /^class\s*[\w$]*\s+extends\b/.test(src) ? undefined : 0;
  } else {
    if (/^(?:async\s+)?[\w$]+\s*=>/.test(src)) return 1;
    open = src.indexOf("(");
    if (open < 0) return undefined;
  }
  return countParams(src, open + 1);
}

/** Counts the parameters of the list that starts at `at` (after its "("); undefined for a rest parameter or `arguments`. */
function countParams(src: string, at: number): number | undefined {
  let depth = 0;
  let count = 0;
  let inParam = false;
  for (let i = at; i < src.length; i++) {
    const c = src[i]!;
    const skipped = skipLiteral(src, i);
    if (skipped > i) {
      inParam = true;
      i = skipped - 1;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      if (depth === 0) {
        if (inParam) count++;
        return /\barguments\b/.test(src.slice(i)) ? undefined : count;
      }
      depth--;
    } else if (depth === 0 && c === ",") {
      if (inParam) count++;
      inParam = false;
      continue;
    } else if (depth === 0 && c === "." && src.startsWith("...", i)) return undefined;
    if (!/\s/.test(c)) inParam = true;
  }
  return undefined;
}

/** Where the constructor's "(" is in a class's source, or -1 when it declares none. */
function constructorParams(src: string): number {
  const body = src.indexOf("{");
  let depth = 0;
  for (let i = body; i >= 0 && i < src.length; i++) {
    const skipped = skipLiteral(src, i);
    if (skipped > i) {
      i = skipped - 1;
      continue;
    }
    const c = src[i]!;
    if (c === "{" || c === "(" || c === "[") depth++;
    else if (c === "}" || c === ")" || c === "]") depth--;
    else if (depth === 1 && src.startsWith("constructor", i) && !/[\w$]/.test(src[i - 1] ?? "")) {
      const m = /^constructor\s*\(/.exec(src.slice(i));
      if (m) return i + m[0].length - 1;
    }
  }
  return -1;
}

/** If a string, template or comment starts at `i`, the index just after it; else `i`. */
function skipLiteral(src: string, i: number): number {
  const c = src[i];
  if (c === '"' || c === "'" || c === "`") {
    for (let j = i + 1; j < src.length; j++) {
      if (src[j] === "\\") j++;
      else if (src[j] === c) return j + 1;
    }
    return src.length;
  }
  if (c === "/" && src[i + 1] === "/") {
    const end = src.indexOf("\n", i);
    return end < 0 ? src.length : end;
  }
  if (c === "/" && src[i + 1] === "*") {
    const end = src.indexOf("*/", i + 2);
    return end < 0 ? src.length : end + 2;
  }
  return i;
}

// A valid component of another world (built by scripts/build-guests.mjs with its own WIT).
export function greet(name) {
  return `hello ${name}`;
}

/** A growable ring-buffer deque: O(1) at both ends. */
export class Deque<T> {
  #buf: (T | undefined)[] = new Array(16);
  #head = 0;
  #size = 0;

  get length(): number {
    return this.#size;
  }

  push(v: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#size) & (this.#buf.length - 1)] = v;
    this.#size++;
  }

  unshift(v: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#buf.length - 1);
    this.#buf[this.#head] = v;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const v = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#size--;
    return v;
  }

  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const i = (this.#head + this.#size - 1) & (this.#buf.length - 1);
    const v = this.#buf[i];
    this.#buf[i] = undefined;
    this.#size--;
    return v;
  }

  clear(): void {
    this.#buf = new Array(16);
    this.#head = 0;
    this.#size = 0;
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#buf[this.#head];
  }

  at(i: number): T | undefined {
    return i < 0 || i >= this.#size ? undefined : this.#buf[(this.#head + i) & (this.#buf.length - 1)];
  }

  /** Removes the first element equal to `v`; O(n). */
  remove(v: T): boolean {
    for (let i = 0; i < this.#size; i++) {
      if (this.at(i) !== v) continue;
      for (let j = i; j > 0; j--) this.#buf[(this.#head + j) & (this.#buf.length - 1)] = this.at(j - 1);
      this.#buf[this.#head] = undefined;
      this.#head = (this.#head + 1) & (this.#buf.length - 1);
      this.#size--;
      return true;
    }
    return false;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.at(i)!;
  }

  #grow(): void {
    const next = new Array<T | undefined>(this.#buf.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = this.at(i);
    this.#buf = next;
    this.#head = 0;
  }
}

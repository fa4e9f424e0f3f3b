/**
 * A double-ended queue on a growable ring buffer: O(1) at both ends, where Array#shift is O(n).
 * Unbounded by itself; every user states the bound that applies to what it holds.
 */
export class Deque<T> {
  private items: Array<T | undefined> = new Array<T | undefined>(8);
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  first(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.head];
  }

  last(): T | undefined {
    return this.size === 0 ? undefined : this.items[(this.head + this.size - 1) % this.items.length];
  }

  /** The i-th item from the front (0 = first), or undefined past the end. */
  at(i: number): T | undefined {
    return i < 0 || i >= this.size ? undefined : this.items[(this.head + i) % this.items.length];
  }

  push(item: T): void {
    this.grow();
    this.items[(this.head + this.size) % this.items.length] = item;
    this.size++;
  }

  unshift(item: T): void {
    this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.size++;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    return item;
  }

  private grow(): void {
    if (this.size < this.items.length) return;
    const next = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}

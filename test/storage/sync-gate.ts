/** Holds fdatasyncs of a MemoryFileSystem (its syncDelay) until the test releases them. */
export class SyncGate {
  private held: (() => void)[] | null = null;

  /** From now on, syncs wait in wait() until release(). */
  hold(): void {
    this.held ??= [];
  }

  /** Let every held sync proceed, and stop holding. */
  release(): void {
    const waiting = this.held ?? [];
    this.held = null;
    for (const go of waiting) go();
  }

  heldCount(): number {
    return this.held?.length ?? 0;
  }

  wait(): Promise<void> {
    const held = this.held;
    if (held === null) return Promise.resolve();
    return new Promise<void>((resolve) => held.push(resolve));
  }
}

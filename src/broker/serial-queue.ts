/**
 * Runs tasks one after another in submission order. A connection uses one for the append phase of
 * Produce: Kafka handles a connection's requests strictly in order, and a producer with several
 * requests in flight relies on their batches landing in that order, even when one of them waits to
 * decompress while the next would be ready at once.
 *
 * A task submitted while nothing is pending runs at once, synchronously, and its plain result is
 * returned as is: the common uncompressed Produce then costs no promise at all. Only a task that
 * returns a promise makes later tasks wait (chained behind it).
 */
export class SerialQueue {
  /** Settles once every task submitted so far has finished; meaningful only while pending > 0. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Tasks that returned a promise (or were chained) and have not settled yet. */
  private pending = 0;

  run<T>(task: () => T | Promise<T>): T | Promise<T> {
    if (this.pending === 0) {
      const result = task();
      return result instanceof Promise ? this.track(result) : result;
    }
    return this.track(this.tail.then(task, task));
  }

  private track<T>(result: Promise<T>): Promise<T> {
    this.pending++;
    const done = (): void => {
      this.pending--;
    };
    this.tail = result.then(done, done);
    return result;
  }
}

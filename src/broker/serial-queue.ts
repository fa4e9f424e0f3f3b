/**
 * Runs tasks one after another in submission order. A connection uses one for the append phase of
 * Produce: Kafka handles a connection's requests strictly in order, and a producer with several
 * requests in flight relies on their batches landing in that order, even when one of them waits to
 * decompress while the next would be ready at once.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

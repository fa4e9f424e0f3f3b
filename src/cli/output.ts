/**
 * Standard output with back-pressure, for commands that may print without bound (consume). A pipe
 * reader slower than the broker must slow the consumer down rather than have Node buffer the whole
 * topic in memory; and a reader that goes away (`fjord consume t | head`) is a normal way to stop,
 * not a crash.
 */
export class Output {
  /** Set once the reader has gone away (EPIPE and friends): nothing more can be written. */
  closed = false;
  private last: Promise<void> = Promise.resolve();
  private readonly onError = (): void => {
    this.closed = true;
  };

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    // Without a listener a failed write (EPIPE) is an uncaught exception.
    stream.on('error', this.onError);
  }

  /** Write, then wait only if the stream asks for it (its buffer is above its high-water mark). */
  async write(data: Buffer | string): Promise<void> {
    if (this.closed || data.length === 0) return;
    let ok = false;
    this.last = new Promise<void>((resolve) => {
      ok = this.stream.write(data, (err) => {
        if (err !== null && err !== undefined) this.closed = true;
        resolve();
      });
    });
    if (!ok && !this.closed) await this.drained();
  }

  /** Every byte written so far has been handed to the OS (or the reader is gone). */
  flush(): Promise<void> {
    return this.last;
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
      this.stream.on('close', done);
    });
  }
}

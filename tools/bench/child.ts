import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * A helper Node process (sink server, broker) that speaks JSON lines: it prints one JSON object per
 * line on stdout and reads one command per line on stdin. Its stderr goes to ours.
 */
export class JsonChild {
  private readonly proc: ChildProcess;
  private readonly queue: unknown[] = [];
  private readonly waiting: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
  private exitError: Error | null = null;
  readonly exited: Promise<number | null>;

  constructor(script: string, args: readonly string[] = [], nodeArgs: readonly string[] = []) {
    const path = fileURLToPath(new URL(script, import.meta.url));
    this.proc = spawn(process.execPath, [...nodeArgs, path, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: this.proc.stdout! });
    lines.on('line', (line) => {
      if (line.trim() === '') return;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        process.stderr.write(`[${script}] ${line}\n`);
        return;
      }
      const w = this.waiting.shift();
      if (w !== undefined) w.resolve(msg);
      else this.queue.push(msg);
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exitError = new Error(`${script} exited (code ${String(code)}, signal ${String(signal)})`);
        for (const w of this.waiting.splice(0)) w.reject(this.exitError);
        resolve(code);
      });
    });
    // A failed write to a dead child's stdin is reported through exit, not as an uncaught error.
    this.proc.stdin!.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** The next JSON line the child prints. */
  next<T>(): Promise<T> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued as T);
    if (this.exitError !== null) return Promise.reject(this.exitError);
    return new Promise<T>((resolve, reject) => this.waiting.push({ resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Send a command line and wait for the child's answer. */
  request<T>(command: string): Promise<T> {
    this.proc.stdin!.write(`${command}\n`);
    return this.next<T>();
  }

  /** Ask the child to finish (it closes and exits 0), then wait for it; kill it if it hangs. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    if (this.exitError === null) this.proc.stdin!.end('close\n');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

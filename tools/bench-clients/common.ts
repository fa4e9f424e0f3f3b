/** What every client driver takes and shares. */
import { ARRAY_SENDS_IN_FLIGHT } from './settings.js';
import type { CountWindow, TimedWindow } from './window.js';

export const CLIENT_ID = 'bench-clients';
export const PARTITION = 0;

export interface ProduceArgs {
  port: number;
  topic: string;
  value: Buffer;
  warmupSeconds: number;
  seconds: number;
  /** Fjord only: producer options that override the benchmark's (for experiments). */
  fjordOptions?: Record<string, unknown>;
}

export interface ConsumeArgs {
  port: number;
  topic: string;
  valueBytes: number;
  records: number;
  timeoutSeconds: number;
  /** Per-partition fetch limit (every client). */
  partitionFetchBytes: number;
  /** Fjord only: consumer options that override the benchmark's (for experiments). */
  fjordOptions?: Record<string, unknown>;
}

export interface Driver {
  produce(a: ProduceArgs): Promise<TimedWindow>;
  consume(a: ConsumeArgs): Promise<CountWindow>;
}

export const bootstrap = (port: number): string => `127.0.0.1:${port}`;

export const groupId = (client: string): string => `bench-${client}-${process.pid}-${Date.now()}`;

/** N workers, each awaiting one array send() after another, until the window is over. */
export async function arrayWorkers(win: TimedWindow, perSend: number, sendOne: () => Promise<void>): Promise<void> {
  const worker = async (): Promise<void> => {
    while (!win.over) {
      await sendOne();
      win.count(perSend);
    }
  };
  await Promise.all(Array.from({ length: ARRAY_SENDS_IN_FLIGHT }, worker));
  win.close();
}

/** Rejects after the consume timeout, naming how far it got; cancel() once done. */
export function deadline(a: ConsumeArgs, win: CountWindow): Promise<never> & { cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const p = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`consume: ${win.total} of ${a.records} records after ${a.timeoutSeconds} s`)), a.timeoutSeconds * 1000);
  });
  p.catch(() => undefined); // raced, never awaited alone
  return Object.assign(p, { cancel: () => clearTimeout(timer) });
}

/** Every record arrived, once, with its whole value. */
export function checkTotals(a: ConsumeArgs, win: CountWindow): void {
  if (win.total !== a.records) throw new Error(`consume: ${win.total} records delivered, the topic has ${a.records}`);
  if (win.bytes !== a.records * a.valueBytes) throw new Error(`consume: ${win.bytes} value bytes, expected ${a.records * a.valueBytes}`);
}

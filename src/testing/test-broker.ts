import { Broker, silentLogger } from '../broker/broker.js';
import { BrokerConfig } from '../broker/broker-config.js';
import { createMemoryLogManager } from '../storage/index.js';
import type { Clock } from '../io/clock.js';
import type { Random } from '../io/random.js';
import { SeededRandom } from './seeded-random.js';

/** A clock that only moves when told to; timers fire as time passes them. */
export class ManualClock implements Clock {
  private timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  constructor(private time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
  setTimer(ms: number, fn: () => void): { cancel(): void } {
    const t = { at: this.time + ms, fn, cancelled: false };
    this.timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }
  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time && !t.cancelled);
    this.timers = this.timers.filter((t) => t.at > this.time && !t.cancelled);
    for (const t of due) t.fn();
  }
}

export function seededRandomSource(seed: number): Random {
  const r = new SeededRandom(seed);
  return {
    uuid: () => {
      const h = r.bytes(16).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
    int: (max) => r.int(0, max - 1),
  };
}

/** A broker with no socket and in-memory logs, for tests that drive Connection directly. */
export async function createTestBroker(config: Record<string, string> = {}, clock: Clock = new ManualClock(), seed = 1): Promise<Broker> {
  const logs = createMemoryLogManager({ now: () => clock.now() });
  await logs.open();
  return new Broker({
    config: new BrokerConfig(config),
    logs,
    clock,
    random: seededRandomSource(seed),
    log: silentLogger,
    clusterId: 'test-cluster',
    advertisedHost: '127.0.0.1',
    advertisedPort: 9092,
  });
}

/**
 * The load child: one client, one measurement, in its own process (so each client starts from a
 * fresh heap and JIT state, loads only its own library, and `node --cpu-prof` profiles exactly one
 * client's run).
 *   node load.js '<LoadSpec as JSON>'
 * Prints {"event":"window-start"} and {"event":"window-end"} at the measurement window's edges,
 * then {"result": LoadResult}, then exits 0 (process.exit still writes a --cpu-prof profile).
 * Any failure prints the error on stderr and exits 1.
 */
import { performance } from 'node:perf_hooks';
import type { Driver } from './common.js';
import { makeValue, type ClientName, type LoadResult, type LoadSpec } from './settings.js';
import { hrMicros } from './window.js';

function print(msg: unknown): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

async function driverFor(client: ClientName): Promise<Driver> {
  switch (client) {
    case 'fjord':
      return (await import('./fjord.js')).driver;
    case 'fjord-send':
      return (await import('./fjord.js')).sendDriver;
    case 'kafkajs':
      return (await import('./kafkajs.js')).driver;
    case 'platformatic':
      return (await import('./platformatic.js')).driver;
    case 'librdkafka':
      throw new Error('librdkafka runs in its own Python child (librdkafka.ts)');
  }
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  if (spec.mode !== 'prefill' && spec.client === 'librdkafka') return (await import('./librdkafka.js')).runLibrdkafka(spec, print);
  const value = makeValue(spec.valueBytes);
  switch (spec.mode) {
    case 'produce': {
      const driver = await driverFor(spec.client);
      const win = await driver.produce({
        port: spec.port,
        topic: spec.topic,
        value,
        warmupSeconds: spec.warmupSeconds,
        seconds: spec.seconds,
        ...(spec.fjordOptions !== undefined ? { fjordOptions: spec.fjordOptions } : {}),
      });
      const bytes = win.records * spec.valueBytes;
      return {
        client: spec.client,
        mode: 'produce',
        records: win.records,
        bytes,
        seconds: win.seconds,
        recordsPerSecond: win.records / win.seconds,
        bytesPerSecond: bytes / win.seconds,
        clientCpu: win.clientCpu,
        windowUs: win.windowUs,
      };
    }
    case 'consume': {
      const driver = await driverFor(spec.client);
      const win = await driver.consume({
        port: spec.port,
        topic: spec.topic,
        valueBytes: spec.valueBytes,
        records: spec.records,
        timeoutSeconds: spec.timeoutSeconds,
        partitionFetchBytes: spec.partitionFetchBytes,
        ...(spec.fjordOptions !== undefined ? { fjordOptions: spec.fjordOptions } : {}),
      });
      const r = win.result();
      return {
        client: spec.client,
        mode: 'consume',
        records: r.records,
        bytes: r.bytes,
        seconds: r.seconds,
        recordsPerSecond: r.records / r.seconds,
        bytesPerSecond: r.bytes / r.seconds,
        clientCpu: r.clientCpu,
        firstRecordMs: r.firstRecordMs,
        totalRecords: win.total,
        windowUs: win.windowUs,
      };
    }
    case 'prefill': {
      const { prefill } = await import('./fjord.js');
      const started = performance.now();
      const startUs = hrMicros();
      const cpu = process.cpuUsage();
      await prefill(spec.port, spec.topic, value, spec.records);
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      return {
        client: 'prefill',
        mode: 'prefill',
        records: spec.records,
        bytes: spec.records * spec.valueBytes,
        seconds,
        recordsPerSecond: spec.records / seconds,
        bytesPerSecond: (spec.records * spec.valueBytes) / seconds,
        clientCpu: (used.user + used.system) / 1e6 / seconds,
        windowUs: [startUs, hrMicros()],
      };
    }
  }
}

try {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  print({ result: await run(spec) });
  process.exit(0);
} catch (err) {
  process.stderr.write(`[load] ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
}

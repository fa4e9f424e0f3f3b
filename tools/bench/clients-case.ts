/**
 * The `clients` case: the client comparison of tools/bench-clients.ts (Fjord's client against
 * @platformatic/kafka, KafkaJS and, as a reference, librdkafka, all against one Fjord broker) inside
 * the suite. It runs `dist/tools/bench-clients.js` as a child process with a --json file, takes its
 * markdown as the section and its ratios as the targets:
 *   batched produce (Fjord driven with sendBatch() arrays, as the others are), 100 B and 1 KiB:
 *     Fjord / platformatic >= 1.5, Fjord / KafkaJS >= 3;
 *   consume from the beginning, 100 B and 1 KiB: Fjord / platformatic >= 1.5, Fjord / KafkaJS >= 1.5.
 * The tool waits for a quiet machine before each run (it samples other processes' CPU); smoke mode
 * skips that and shrinks everything (0.5 s windows, 20,000 records per consume topic, 1 run), which
 * only proves that every client works end to end. A client error, a short read or a crashed child
 * makes the tool, and so this case, fail.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchCase, BenchContext, CaseReport, Target } from './suite.js';

const TOOL = fileURLToPath(new URL('../bench-clients.js', import.meta.url));
const SMOKE_RECORDS = 20_000;

interface RatioRow {
  mode: 'produce' | 'consume';
  fjord: string;
  valueBytes: number;
  other: 'platformatic' | 'kafkajs';
  ratio: number | null;
  target: number | null;
}

interface ToolJson {
  options: { clients: string[]; unavailable: string[] };
  results: Record<'produce' | 'consume', Record<string, Record<string, Array<{ records: number }>>>>;
  ratios: RatioRow[];
}

function toolArgs(ctx: BenchContext, json: string): string[] {
  const o = ctx.options;
  if (o.smoke) {
    return [
      '--seconds', '0.5', '--warmup', '0.5', '--runs', '1', '--consume-runs', '1', '--prefill-records', String(SMOKE_RECORDS),
      '--max-load', '1000', '--wait-quiet', '0', '--wait-quiet-run', '0', '--json', json,
    ];
  }
  return [
    '--seconds', String(o.seconds), '--warmup', String(o.warmupSeconds), '--runs', String(o.runs),
    // Consume windows last well under a second each: more runs for a steadier median.
    '--consume-runs', String(Math.max(5, o.runs)),
    ...(o.profile ? ['--profile'] : []),
    '--json', json,
  ];
}

/** Run the tool; resolves with its stdout (the markdown report); its stderr goes to ctx.log. */
function runTool(ctx: BenchContext, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TOOL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    const tail: string[] = [];
    createInterface({ input: child.stderr }).on('line', (line) => {
      ctx.log(line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`bench-clients exited with code ${String(code)}:\n${tail.join('\n')}`));
    });
  });
}

const sizeLabel = (b: number): string => (b >= 1024 ? `${b / 1024} KiB` : `${b} B`);

/** The tool's report as a section of the suite's: headings one level down (### and below). */
function demote(markdown: string): string {
  return markdown
    .trimEnd()
    .split('\n')
    .map((line) => (/^#{2,5} /.test(line) ? `#${line}` : line))
    .join('\n')
    .replace(/^### Clients side by side/m, '### Clients: Fjord, platformatic, KafkaJS, librdkafka');
}

export const clientsCase: BenchCase = {
  name: 'clients',
  description: 'client comparison (bench-clients): Fjord vs @platformatic/kafka, KafkaJS and librdkafka, batched produce acks=1 and consume, 100 B and 1 KiB',
  async run(ctx: BenchContext): Promise<CaseReport> {
    const dir = await mkdtemp(join(tmpdir(), 'fjord-bench-clients-case-'));
    try {
      const jsonPath = join(dir, 'clients.json');
      const markdown = await runTool(ctx, toolArgs(ctx, jsonPath));
      const json = JSON.parse(await readFile(jsonPath, 'utf8')) as ToolJson;
      if (ctx.options.smoke) {
        // Every client must have done something: produce windows are tiny, so only all-zero fails.
        for (const client of json.options.clients) {
          const produced = Object.values(json.results.produce).flatMap((bySize) => bySize[client] ?? []);
          if (produced.length > 0 && produced.every((m) => m.records === 0)) throw new Error(`clients: ${client} acknowledged no record in any produce window`);
        }
      }
      const targets: Target[] = json.ratios
        .filter((r) => r.target !== null)
        .map((r) => ({
          name: `${r.mode === 'produce' ? 'batched produce acks=1' : 'consume'} ${sizeLabel(r.valueBytes)}: Fjord / ${r.other === 'kafkajs' ? 'KafkaJS' : 'platformatic'}`,
          // JSON turns an infinite ratio (the other client counted nothing) into null.
          measured: r.ratio ?? Number.POSITIVE_INFINITY,
          comparison: '>=' as const,
          threshold: r.target!,
          unit: 'x',
        }));
      const note = json.options.unavailable.length > 0 ? `\n\nLeft out: ${json.options.unavailable.join('; ')}.` : '';
      return { markdown: `${demote(markdown)}${note}`, json, targets };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

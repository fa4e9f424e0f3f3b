/**
 * Self time of a V8 .cpuprofile (node --cpu-prof) inside a time window only, so a load child's
 * start-up (module loading, connecting) does not crowd out the measured part. Samples are placed at
 * profile.startTime + the running sum of timeDeltas, the clock of process.hrtime in microseconds.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface WindowSelfTime {
  name: string;
  location: string;
  ms: number;
  /** Share of the window's samples (idle included). */
  percent: number;
  mainCaller: string;
}

export interface WindowProfile {
  windowMs: number;
  /** Share of the window's samples not idle. */
  busyPercent: number;
  top: WindowSelfTime[];
  /** Self time per source (a file of Fjord, a package in node_modules, node internals, GC...). */
  bySource: Array<{ source: string; ms: number; percent: number }>;
}

function location(url: string, line: number): string {
  if (url === '') return '';
  if (!url.startsWith('file://')) return `${url}:${line + 1}`;
  try {
    return `${relative(process.cwd(), fileURLToPath(url))}:${line + 1}`;
  } catch {
    return `${url}:${line + 1}`;
  }
}

/** Where a function lives, coarsely: a package, a Fjord source file, node's internals, or a VM pseudo-frame. */
function sourceOf(name: string, url: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native / builtin)';
  if (url.startsWith('node:')) return 'node internals';
  const path = location(url, 0).replace(/:1$/, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? path);
  }
  return path;
}

const label = (f: ProfileNode['callFrame']): string => (f.functionName === '' ? '(anonymous)' : f.functionName);

export async function summarizeWindow(path: string, fromUs: number, toUs: number, topN: number): Promise<WindowProfile> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parentOf.set(c, n.id);
  }
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const id = samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i + 1] ?? 0));
  }
  const grouped = new Map<string, WindowSelfTime>();
  const callers = new Map<string, Map<string, number>>();
  const sources = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    totalUs += us;
    const f = node.callFrame;
    if (f.functionName === '(idle)') idleUs += us;
    const name = label(f);
    const loc = location(f.url, f.lineNumber);
    const key = `${name}@${loc}`;
    const entry = grouped.get(key) ?? { name, location: loc, ms: 0, percent: 0, mainCaller: '' };
    entry.ms += us / 1000;
    grouped.set(key, entry);
    const src = sourceOf(name, f.url);
    sources.set(src, (sources.get(src) ?? 0) + us);
    const parent = byId.get(parentOf.get(id) ?? -1);
    if (parent !== undefined) {
      const pkey = `${label(parent.callFrame)} ${location(parent.callFrame.url, parent.callFrame.lineNumber)}`.trim();
      const m = callers.get(key) ?? new Map<string, number>();
      m.set(pkey, (m.get(pkey) ?? 0) + us);
      callers.set(key, m);
    }
  }
  for (const [key, m] of callers) {
    const best = [...m.entries()].sort((a, b) => b[1] - a[1])[0];
    const entry = grouped.get(key);
    if (entry !== undefined && best !== undefined) entry.mainCaller = best[0];
  }
  const pct = (us: number): number => (totalUs === 0 ? 0 : (100 * us) / totalUs);
  const top = [...grouped.values()].sort((a, b) => b.ms - a.ms).slice(0, topN);
  for (const e of top) e.percent = pct(e.ms * 1000);
  const bySource = [...sources.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([source, us]) => ({ source, ms: us / 1000, percent: pct(us) }));
  return { windowMs: totalUs / 1000, busyPercent: pct(totalUs - idleUs), top, bySource };
}

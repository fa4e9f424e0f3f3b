/** Reads a V8 .cpuprofile (node --cpu-prof) and ranks functions by self time. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  location: string;
  ms: number;
  percent: number;
  /** The caller that accounts for most of this function's self time. */
  mainCaller: string;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of samples not idle: how busy the broker's main thread was. */
  busyPercent: number;
  top: SelfTime[];
}

function location(url: string, line: number): string {
  if (url === '') return '';
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = relative(process.cwd(), fileURLToPath(url));
    } catch {
      path = url;
    }
  }
  return `${path}:${line + 1}`;
}

export async function summarizeProfile(path: string, topN: number): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parentOf.set(c, n.id);
  }
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next sample (V8 stores the delta before it).
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const grouped = new Map<string, SelfTime>();
  const callers = new Map<string, Map<string, number>>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idleUs += us;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const loc = location(url, lineNumber);
    const key = `${name}@${loc}`;
    const entry = grouped.get(key) ?? { name, location: loc, ms: 0, percent: 0, mainCaller: '' };
    entry.ms += us / 1000;
    grouped.set(key, entry);
    const parent = byId.get(parentOf.get(id) ?? -1);
    if (parent !== undefined) {
      const pf = parent.callFrame;
      const pkey = `${pf.functionName === '' ? '(anonymous)' : pf.functionName} ${location(pf.url, pf.lineNumber)}`.trim();
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
  const all = [...grouped.values()].sort((a, b) => b.ms - a.ms);
  for (const e of all) e.percent = totalUs === 0 ? 0 : (100 * e.ms * 1000) / totalUs;
  return { totalMs: totalUs / 1000, busyPercent: totalUs === 0 ? 0 : (100 * (totalUs - idleUs)) / totalUs, top: all.slice(0, topN) };
}

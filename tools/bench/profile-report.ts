/** A broker CPU profile summary (`--profile`) as a markdown section. */
import type { ProfileSummary } from './cpu-profile.js';
import { fmt, markdownTable } from './stats.js';

export function profileMarkdown(title: string, p: ProfileSummary): string {
  return [
    `#### Broker CPU profile: ${title} (node --cpu-prof on the broker child; main thread busy ${fmt(p.busyPercent)}% of ${fmt(p.totalMs / 1000, 1)} s incl. start-up)`,
    '',
    markdownTable(
      ['self %', 'self ms', 'function', 'location', 'main caller'],
      p.top.map((t) => [fmt(t.percent), fmt(t.ms, 0), `\`${t.name}\``, t.location === '' ? '' : `\`${t.location}\``, t.mainCaller === '' ? '' : `\`${t.mainCaller}\``]),
    ),
  ].join('\n');
}

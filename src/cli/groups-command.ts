import { Command } from 'commander';
import { withAdmin } from './with-admin.js';
import type { Admin, GroupDescription } from '../client/admin/index.js';
import { action, withBootstrap, UsageError } from './common.js';
import { formatTable } from './table.js';

interface LagRow {
  topic: string;
  partition: number;
  current: bigint | null;
  end: bigint;
  consumerId: string;
  host: string;
  clientId: string;
}

/** Committed offsets and member assignments joined with log end offsets: the lag report. */
async function lagRows(admin: Admin, g: GroupDescription): Promise<LagRow[]> {
  const committed = await admin.listGroupOffsets(g.groupId);
  const owners = new Map<string, { consumerId: string; host: string; clientId: string }>();
  for (const m of g.members) for (const a of m.assignment) for (const p of a.partitions) owners.set(`${a.topic}\u0000${p}`, { consumerId: m.memberId, host: m.clientHost, clientId: m.clientId });
  const keys = new Map<string, { topic: string; partition: number }>();
  for (const c of committed) keys.set(`${c.topic}\u0000${c.partition}`, { topic: c.topic, partition: c.partition });
  for (const m of g.members) for (const a of m.assignment) for (const p of a.partitions) keys.set(`${a.topic}\u0000${p}`, { topic: a.topic, partition: p });
  const tps = [...keys.values()].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  const ends = tps.length === 0 ? [] : await admin.listOffsets(tps.map((t) => ({ ...t, spec: 'latest' as const })));
  return tps.map((t) => {
    const key = `${t.topic}\u0000${t.partition}`;
    const owner = owners.get(key) ?? { consumerId: '-', host: '-', clientId: '-' };
    return {
      ...t,
      current: committed.find((c) => c.topic === t.topic && c.partition === t.partition)?.offset ?? null,
      end: ends.find((e) => e.topic === t.topic && e.partition === t.partition)?.offset ?? -1n,
      ...owner,
    };
  });
}

type ResetSpec = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: bigint } | { kind: 'shift'; by: bigint } | { kind: 'datetime'; ms: number };

function resetSpec(o: { toEarliest?: boolean; toLatest?: boolean; toOffset?: string; shiftBy?: string; toDatetime?: string }): ResetSpec {
  const given: ResetSpec[] = [];
  if (o.toEarliest === true) given.push({ kind: 'earliest' });
  if (o.toLatest === true) given.push({ kind: 'latest' });
  if (o.toOffset !== undefined) {
    if (!/^\d+$/.test(o.toOffset)) throw new UsageError(`--to-offset must be a non-negative integer, got "${o.toOffset}"`);
    given.push({ kind: 'offset', offset: BigInt(o.toOffset) });
  }
  if (o.shiftBy !== undefined) {
    if (!/^-?\d+$/.test(o.shiftBy)) throw new UsageError(`--shift-by must be an integer, got "${o.shiftBy}"`);
    given.push({ kind: 'shift', by: BigInt(o.shiftBy) });
  }
  if (o.toDatetime !== undefined) {
    const ms = Date.parse(o.toDatetime);
    if (Number.isNaN(ms)) throw new UsageError(`--to-datetime must be an ISO date-time, got "${o.toDatetime}"`);
    given.push({ kind: 'datetime', ms });
  }
  if (given.length !== 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime');
  return given[0]!;
}

/** `fjord groups ...`: Kafka's kafka-consumer-groups. */
export function groupsCommand(): Command {
  const groups = new Command('groups').description('List, describe, reset and delete consumer groups');

  groups.addCommand(
    withBootstrap(new Command('list'))
      .description('List consumer groups, one a line')
      .action(
        action(async (o: { bootstrapServer: string }) => {
          const list = await withAdmin(o.bootstrapServer, (a) => a.listGroups());
          if (list.length > 0) process.stdout.write(list.map((g) => g.groupId).join('\n') + '\n');
        }),
      ),
  );

  groups.addCommand(
    withBootstrap(new Command('describe'))
      .description('Offsets and lag per partition (GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID)')
      .argument('<group>')
      .option('--members', 'list the members instead: GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS')
      .option('--state', 'show the group state instead: GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE #MEMBERS')
      .action(
        action(async (groupId: string, o: { bootstrapServer: string; members?: boolean; state?: boolean }) => {
          await withAdmin(o.bootstrapServer, async (admin) => {
            const [g] = await admin.describeGroups([groupId]);
            if (g === undefined || g.state === 'Dead') throw new Error(`GROUP_ID_NOT_FOUND: Consumer group '${groupId}' does not exist.`);
            if (o.state === true) {
              const cluster = await admin.describeCluster();
              const b = cluster.brokers.find((x) => x.nodeId === g.coordinator);
              process.stdout.write(formatTable(['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS'], [[g.groupId, `${b?.host ?? '?'}:${b?.port ?? '?'} (${g.coordinator})`, g.protocol === '' ? '-' : g.protocol, g.state, String(g.members.length)]]));
              return;
            }
            if (o.members === true) {
              process.stdout.write(
                formatTable(
                  ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS'],
                  g.members.map((m) => [g.groupId, m.memberId, m.clientHost, m.clientId, String(m.assignment.reduce((s, a) => s + a.partitions.length, 0))]),
                ),
              );
              return;
            }
            if (g.members.length === 0) process.stderr.write(`Consumer group '${groupId}' has no active members.\n`);
            const rows = await lagRows(admin, g);
            process.stdout.write(
              formatTable(
                ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
                rows.map((r) => [g.groupId, r.topic, String(r.partition), r.current === null ? '-' : String(r.current), String(r.end), r.current === null ? '-' : String(r.end - r.current > 0n ? r.end - r.current : 0n), r.consumerId, r.host, r.clientId]),
              ),
            );
          });
        }),
      ),
  );

  groups.addCommand(
    withBootstrap(new Command('reset-offsets'))
      .description('Reset a group\'s committed offsets (dry run unless --execute; the group must be inactive)')
      .argument('<group>')
      .requiredOption('--topic <topic[:partitions]>', 'the topic, optionally with partitions: orders:0,2')
      .option('--to-earliest', 'to the log start offset')
      .option('--to-latest', 'to the log end offset')
      .option('--to-offset <n>', 'to an absolute offset (clamped to the log)')
      .option('--shift-by <n>', 'move the committed offset by n (may be negative)')
      .option('--to-datetime <iso>', 'to the first offset at or after a time, e.g. 2024-01-15T10:00:00Z')
      .option('--dry-run', 'show the new offsets without committing them (the default)')
      .option('--execute', 'commit the new offsets')
      .action(
        action(async (groupId: string, o: { bootstrapServer: string; topic: string; toEarliest?: boolean; toLatest?: boolean; toOffset?: string; shiftBy?: string; toDatetime?: string; execute?: boolean; dryRun?: boolean }) => {
          const spec = resetSpec(o);
          if (o.execute === true && o.dryRun === true) throw new UsageError('--dry-run and --execute exclude each other');
          const [topic, partList] = o.topic.split(':') as [string, string | undefined];
          await withAdmin(o.bootstrapServer, async (admin) => {
            const [g] = await admin.describeGroups([groupId]);
            if (o.execute === true && g !== undefined && g.state !== 'Empty' && g.state !== 'Dead') {
              throw new Error(`Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${g.state}.`);
            }
            const [t] = await admin.describeTopics([topic]);
            const partitions = partList === undefined ? t!.partitions.map((p) => p.partition) : partList.split(',').map((x) => Number(x));
            for (const p of partitions) if (!t!.partitions.some((x) => x.partition === p)) throw new UsageError(`topic ${topic} has no partition ${p}`);
            const tps = partitions.map((partition) => ({ topic, partition }));
            const earliest = await admin.listOffsets(tps.map((x) => ({ ...x, spec: 'earliest' as const })));
            const latest = await admin.listOffsets(tps.map((x) => ({ ...x, spec: 'latest' as const })));
            const committed = await admin.listGroupOffsets(groupId);
            const atTime = spec.kind === 'datetime' ? await admin.listOffsets(tps.map((x) => ({ ...x, spec: { timestamp: spec.ms } }))) : [];
            const clamp = (v: bigint, lo: bigint, hi: bigint): bigint => (v < lo ? lo : v > hi ? hi : v);
            const next = tps.map((x) => {
              const lo = earliest.find((e) => e.partition === x.partition)!.offset;
              const hi = latest.find((e) => e.partition === x.partition)!.offset;
              let offset: bigint;
              switch (spec.kind) {
                case 'earliest': offset = lo; break;
                case 'latest': offset = hi; break;
                case 'offset': offset = clamp(spec.offset, lo, hi); break;
                case 'shift': {
                  const cur = committed.find((c) => c.topic === topic && c.partition === x.partition)?.offset ?? lo;
                  offset = clamp(cur + spec.by, lo, hi);
                  break;
                }
                case 'datetime': {
                  const found = atTime.find((e) => e.partition === x.partition)!.offset;
                  offset = found < 0n ? hi : found;
                  break;
                }
              }
              return { ...x, offset };
            });
            if (o.execute === true) await admin.alterGroupOffsets(groupId, next);
            process.stdout.write(formatTable(['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], next.map((n) => [groupId, n.topic, String(n.partition), String(n.offset)])));
          });
        }),
      ),
  );

  groups.addCommand(
    withBootstrap(new Command('delete'))
      .description('Delete an inactive group and its committed offsets')
      .argument('<group>')
      .action(
        action(async (groupId: string, o: { bootstrapServer: string }) => {
          await withAdmin(o.bootstrapServer, (a) => a.deleteGroups([groupId]));
          process.stdout.write(`Deletion of requested consumer groups ('${groupId}') was successful.\n`);
        }),
      ),
  );
  return groups;
}

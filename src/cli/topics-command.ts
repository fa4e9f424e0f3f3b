import { Command } from 'commander';
import { withAdmin } from './with-admin.js';
import { action, collect, parseIntOption, parseKeyValues, withBootstrap, UsageError } from './common.js';

/** `fjord topics ...`: Kafka's kafka-topics, quicker to type. */
export function topicsCommand(): Command {
  const topics = new Command('topics').description('Create, list, describe, alter and delete topics');

  topics.addCommand(
    withBootstrap(new Command('create'))
      .description('Create a topic')
      .argument('<name>')
      .option('--partitions <n>', 'number of partitions (default: the broker\'s num.partitions)')
      .option('--replication-factor <n>', 'replication factor (default: the broker\'s)')
      .option('--config <key=value>', 'a topic config (repeatable)', collect, [] as string[])
      .option('--if-not-exists', 'succeed if the topic already exists')
      .action(
        action(async (name: string, o: { bootstrapServer: string; partitions?: string; replicationFactor?: string; config: string[]; ifNotExists?: boolean }) => {
          const configs = parseKeyValues(o.config, '--config');
          await withAdmin(o.bootstrapServer, async (admin) => {
            try {
              await admin.createTopics([
                {
                  name,
                  ...(o.partitions !== undefined ? { partitions: parseIntOption(o.partitions, '--partitions', 1) } : {}),
                  ...(o.replicationFactor !== undefined ? { replicationFactor: parseIntOption(o.replicationFactor, '--replication-factor', 1) } : {}),
                  configs,
                },
              ]);
            } catch (err) {
              if (o.ifNotExists === true && (err as { code?: string }).code === 'TOPIC_ALREADY_EXISTS') return;
              throw err;
            }
            process.stdout.write(`Created topic ${name}.\n`);
          });
        }),
      ),
  );

  topics.addCommand(
    withBootstrap(new Command('list'))
      .description('List topic names, one a line')
      .option('--include-internal', 'also list internal topics such as __consumer_offsets')
      .action(
        action(async (o: { bootstrapServer: string; includeInternal?: boolean }) => {
          const names = await withAdmin(o.bootstrapServer, (admin) => admin.listTopics({ includeInternal: o.includeInternal === true }));
          if (names.length > 0) process.stdout.write(names.join('\n') + '\n');
        }),
      ),
  );

  topics.addCommand(
    withBootstrap(new Command('describe'))
      .description('Describe a topic: a summary line, then a line per partition with leader, replicas and offsets')
      .argument('<name>')
      .action(
        action(async (name: string, o: { bootstrapServer: string }) => {
          await withAdmin(o.bootstrapServer, async (admin) => {
            const [t] = await admin.describeTopics([name]);
            if (t === undefined) throw new Error(`UNKNOWN_TOPIC_OR_PARTITION: Topic ${name} does not exist`);
            const [cfg] = await admin.describeConfigs([{ type: 'topic', name }], { includeSynonyms: false });
            const overrides = (cfg?.configs ?? []).filter((c) => c.source === 'DYNAMIC_TOPIC_CONFIG').map((c) => `${c.name}=${c.value ?? ''}`);
            const queries = t.partitions.map((p) => ({ topic: name, partition: p.partition }));
            const starts = await admin.listOffsets(queries.map((q) => ({ ...q, spec: 'earliest' as const })));
            const ends = await admin.listOffsets(queries.map((q) => ({ ...q, spec: 'latest' as const })));
            const rf = t.partitions[0]?.replicas.length ?? 0;
            const lines = [`Topic: ${t.name}\tTopicId: ${t.topicId ?? '-'}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${rf}\tConfigs: ${overrides.join(',')}`];
            for (const p of t.partitions) {
              const start = starts.find((s) => s.partition === p.partition)?.offset ?? -1n;
              const end = ends.find((s) => s.partition === p.partition)?.offset ?? -1n;
              lines.push(`\tTopic: ${t.name}\tPartition: ${p.partition}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}\tLogStartOffset: ${start}\tLogEndOffset: ${end}`);
            }
            process.stdout.write(lines.join('\n') + '\n');
          });
        }),
      ),
  );

  topics.addCommand(
    withBootstrap(new Command('delete'))
      .description('Delete a topic')
      .argument('<name>')
      .action(
        action(async (name: string, o: { bootstrapServer: string }) => {
          await withAdmin(o.bootstrapServer, (admin) => admin.deleteTopics([name]));
          process.stdout.write(`Deleted topic ${name}.\n`);
        }),
      ),
  );

  topics.addCommand(
    withBootstrap(new Command('alter'))
      .description('Change topic configs (and grow partitions)')
      .argument('<name>')
      .option('--config <key=value>', 'set a topic config (repeatable)', collect, [] as string[])
      .option('--delete-config <key>', 'remove a topic config override (repeatable)', collect, [] as string[])
      .option('--partitions <n>', 'grow the topic to this many partitions')
      .action(
        action(async (name: string, o: { bootstrapServer: string; config: string[]; deleteConfig: string[]; partitions?: string }) => {
          const set = parseKeyValues(o.config, '--config');
          if (Object.keys(set).length === 0 && o.deleteConfig.length === 0 && o.partitions === undefined) {
            throw new UsageError('nothing to alter: give --config, --delete-config or --partitions');
          }
          await withAdmin(o.bootstrapServer, async (admin) => {
            const ops = [
              ...Object.entries(set).map(([key, value]) => ({ key, op: 'set' as const, value })),
              ...o.deleteConfig.map((key) => ({ key, op: 'delete' as const })),
            ];
            if (ops.length > 0) await admin.incrementalAlterConfigs([{ type: 'topic', name, ops }]);
            if (o.partitions !== undefined) await admin.createPartitions([{ topic: name, count: parseIntOption(o.partitions, '--partitions', 1) }]);
          });
          process.stdout.write(`Altered topic ${name}.\n`);
        }),
      ),
  );
  return topics;
}

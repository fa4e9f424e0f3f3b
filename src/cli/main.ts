import { Command, CommanderError } from 'commander';
import { startCommand } from './start-command.js';
import { topicsCommand } from './topics-command.js';
import { groupsCommand } from './groups-command.js';
import { produceCommand } from './produce-command.js';
import { consumeCommand } from './consume-command.js';
import { perfCommand } from './perf-command.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('fjord')
    .description('Fjord: an event streaming platform that speaks the Apache Kafka protocol')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.addCommand(startCommand().exitOverride());
  program.addCommand(topicsCommand());
  program.addCommand(groupsCommand());
  program.addCommand(produceCommand());
  program.addCommand(consumeCommand());
  program.addCommand(perfCommand());
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    throw err;
  }
}

/**
 * KafkaJS 2.2.4, idiomatic batched use: send() with an array of records, a few calls in flight.
 * Consumer: a new group, run() with eachBatch, autoCommit off.
 */
import kafkajs from 'kafkajs';
import { CLIENT_ID, PARTITION, arrayWorkers, bootstrap, checkTotals, deadline, groupId, type ConsumeArgs, type Driver, type ProduceArgs } from './common.js';
import { FETCH_MAX_BYTES, FETCH_MAX_WAIT_MS, arrayRecordsPerSend } from './settings.js';
import { CountWindow, TimedWindow } from './window.js';

const { Kafka, logLevel } = kafkajs;

const client = (port: number): InstanceType<typeof Kafka> => new Kafka({ clientId: CLIENT_ID, brokers: [bootstrap(port)], logLevel: logLevel.NOTHING });

export const driver: Driver = {
  async produce(a: ProduceArgs): Promise<TimedWindow> {
    const producer = client(a.port).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const perSend = arrayRecordsPerSend(a.value.length);
      const send = async (n: number): Promise<void> => {
        const messages = new Array<{ partition: number; value: Buffer }>(n);
        for (let i = 0; i < n; i++) messages[i] = { partition: PARTITION, value: a.value };
        await producer.send({ topic: a.topic, acks: 1, messages });
      };
      await send(1); // metadata
      const win = new TimedWindow(a.warmupSeconds, a.seconds);
      await arrayWorkers(win, perSend, () => send(perSend));
      return win;
    } finally {
      await producer.disconnect();
    }
  },

  async consume(a: ConsumeArgs): Promise<CountWindow> {
    const win = new CountWindow(a.records);
    const consumer = client(a.port).consumer({
      groupId: groupId('kafkajs'),
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: a.partitionFetchBytes,
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
    });
    const timeout = deadline(a, win);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [a.topic], fromBeginning: true });
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          if (win.done) return;
          let bytes = 0;
          for (const m of batch.messages) bytes += m.value?.length ?? 0;
          if (win.deliver(batch.messages.length, bytes)) finish();
        },
      });
      await Promise.race([finished, timeout]);
    } finally {
      timeout.cancel();
      await consumer.disconnect();
    }
    checkTotals(a, win);
    return win;
  },
};

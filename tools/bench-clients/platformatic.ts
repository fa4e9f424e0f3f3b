/**
 * @platformatic/kafka 1.35.0, idiomatic batched use: send() with an array of records, a few calls in
 * flight. Consumer: a new group, consume() in EARLIEST mode with autocommit off, records as 'data'
 * events of the returned stream.
 */
import { Consumer, MessagesStreamModes, ProduceAcks, Producer } from '@platformatic/kafka';
import { CLIENT_ID, PARTITION, arrayWorkers, bootstrap, checkTotals, deadline, groupId, type ConsumeArgs, type Driver, type ProduceArgs } from './common.js';
import { FETCH_MAX_BYTES, FETCH_MAX_WAIT_MS, arrayRecordsPerSend } from './settings.js';
import { CountWindow, TimedWindow } from './window.js';

export const driver: Driver = {
  async produce(a: ProduceArgs): Promise<TimedWindow> {
    const producer = new Producer({ clientId: CLIENT_ID, bootstrapBrokers: [bootstrap(a.port)], acks: ProduceAcks.LEADER });
    try {
      const perSend = arrayRecordsPerSend(a.value.length);
      const send = async (n: number): Promise<void> => {
        const messages = new Array<{ topic: string; partition: number; value: Buffer }>(n);
        for (let i = 0; i < n; i++) messages[i] = { topic: a.topic, partition: PARTITION, value: a.value };
        await producer.send({ messages, acks: ProduceAcks.LEADER });
      };
      await send(1); // connect + metadata
      const win = new TimedWindow(a.warmupSeconds, a.seconds);
      await arrayWorkers(win, perSend, () => send(perSend));
      return win;
    } finally {
      await producer.close();
    }
  },

  async consume(a: ConsumeArgs): Promise<CountWindow> {
    const win = new CountWindow(a.records);
    const consumer = new Consumer({ clientId: CLIENT_ID, bootstrapBrokers: [bootstrap(a.port)], groupId: groupId('platformatic') });
    const timeout = deadline(a, win);
    try {
      const stream = await consumer.consume({
        topics: [a.topic],
        mode: MessagesStreamModes.EARLIEST,
        autocommit: false,
        maxBytes: FETCH_MAX_BYTES,
        maxBytesPerPartition: a.partitionFetchBytes,
        maxWaitTime: FETCH_MAX_WAIT_MS,
      });
      const finished = new Promise<void>((resolve, reject) => {
        stream.on('data', (m) => {
          if (!win.done && win.deliver(1, m.value?.length ?? 0)) resolve();
        });
        stream.on('error', reject);
      });
      await Promise.race([finished, timeout]);
      await stream.close();
    } finally {
      timeout.cancel();
      await consumer.close(true);
    }
    checkTotals(a, win);
    return win;
  },
};

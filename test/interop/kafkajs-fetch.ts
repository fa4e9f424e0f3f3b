// kafkajs's consumer always joins a group. Until Fjord has groups, the tests read partitions through
// kafkajs's own cluster and broker objects: kafkajs still encodes the Fetch and decodes the batches.
import { Kafka, logLevel } from 'kafkajs';

interface KjsMessage { offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | string | undefined> }
interface KjsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(q: { nodeId: string }): Promise<{ fetch(req: object): Promise<{ responses: Array<{ partitions: Array<{ errorCode: number; highWatermark: string; messages: KjsMessage[] }> }> }> }>;
}

export interface FetchedMessage { offset: string; key: string | null; value: string | null; headers: Record<string, string> }

export async function fetchAll(bootstrap: string, topic: string, partition: number): Promise<FetchedMessage[]> {
  const kafka = new Kafka({ clientId: 'fjord-test-fetch', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (sym === undefined) throw new Error('kafkajs internals changed');
  const cluster = (kafka as unknown as Record<symbol, (o: object) => KjsCluster>)[sym]!({});
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    await cluster.refreshMetadata();
    const leaders = cluster.findLeaderForPartitions(topic, [partition]);
    const nodeId = Object.keys(leaders)[0]!;
    const broker = await cluster.findBroker({ nodeId });
    const out: FetchedMessage[] = [];
    let offset = 0n;
    for (let round = 0; round < 1000; round++) {
      const res = await broker.fetch({
        replicaId: -1,
        isolationLevel: 1,
        maxWaitTime: 100,
        minBytes: 1,
        maxBytes: 1 << 20,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset.toString(), maxBytes: 1 << 20 }] }],
      });
      const p = res.responses[0]!.partitions[0]!;
      if (p.errorCode !== 0) throw new Error(`fetch error ${p.errorCode}`);
      for (const m of p.messages) {
        if (BigInt(m.offset) < offset) continue;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(m.headers)) if (v !== undefined) headers[k] = v.toString();
        out.push({ offset: m.offset, key: m.key === null ? null : m.key.toString(), value: m.value === null ? null : m.value.toString(), headers });
        offset = BigInt(m.offset) + 1n;
      }
      if (offset >= BigInt(p.highWatermark)) break;
    }
    return out;
  } finally {
    await cluster.disconnect();
  }
}

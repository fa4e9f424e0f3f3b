"""Reads every partition of a topic from the beginning with a read_committed confluent-kafka Consumer
(librdkafka) up to its end offset (taken at the start; with no open transaction it is the high
watermark) and prints one JSON document as the last stdout line:
{"records": {"<p>": [[offset, value, txn-header or null], ...]}, "ends": {"<p>": end},
 "complete": bool, "errors": [...]}."""
import argparse
import time

from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

from fjord_common import emit

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', required=True)
ap.add_argument('--topic', required=True)
ap.add_argument('--partitions', type=int, required=True)
ap.add_argument('--timeout-s', type=float, default=60.0)
args = ap.parse_args()

consumer = Consumer({
    'bootstrap.servers': args.bootstrap,
    'group.id': 'copier-read',
    'isolation.level': 'read_committed',
    'enable.auto.commit': False,
    'auto.offset.reset': 'earliest',
    'enable.partition.eof': False,
})
ends = {}
for p in range(args.partitions):
    ends[p] = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=10)[1]
parts = [TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)]
consumer.assign(parts)
records = {str(p): [] for p in range(args.partitions)}
deadline = time.time() + args.timeout_s
errors = []


def done():
    # The position passes control markers and aborted records, which no message reports.
    pos = consumer.position([TopicPartition(args.topic, p) for p in range(args.partitions)])
    return all(ends[tp.partition] == 0 or tp.offset >= ends[tp.partition] for tp in pos)


while time.time() < deadline and not done():
    for msg in consumer.consume(2000, 0.5):
        if msg.error() is not None:
            errors.append(msg.error().name())
            continue
        p = msg.partition()
        headers = dict(msg.headers() or [])
        txn = headers.get('txn')
        records[str(p)].append([msg.offset(), msg.value().decode('utf-8'), txn.decode('ascii') if txn is not None else None])
complete = done()
consumer.close()
emit({'records': records, 'ends': {str(p): e for p, e in ends.items()}, 'complete': complete, 'errors': errors})

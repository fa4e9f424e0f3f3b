"""confluent-kafka Consumer (librdkafka): read every partition of a topic from the beginning up to
its high watermark (taken at the start) and print the records as one JSON document:
{"records": {"<p>": [[offset, value], ...]}, "watermarks": {"<p>": [low, high]}, "complete": bool}."""
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
    'group.id': 'fjord-read-values',
    'enable.auto.commit': False,
    'auto.offset.reset': 'earliest',
    'enable.partition.eof': False,
})
watermarks = {}
for p in range(args.partitions):
    watermarks[p] = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=10)
consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)])
records = {str(p): [] for p in range(args.partitions)}
next_offset = {p: watermarks[p][0] for p in range(args.partitions)}
deadline = time.time() + args.timeout_s
errors = []
while time.time() < deadline and any(next_offset[p] < watermarks[p][1] for p in range(args.partitions)):
    for msg in consumer.consume(1000, 0.5):
        if msg.error() is not None:
            errors.append(msg.error().name())
            continue
        p = msg.partition()
        if msg.offset() >= watermarks[p][1]:
            continue
        records[str(p)].append([msg.offset(), msg.value().decode('utf-8')])
        next_offset[p] = msg.offset() + 1
consumer.close()
emit({
    'records': records,
    'watermarks': {str(p): list(w) for p, w in watermarks.items()},
    'complete': all(next_offset[p] >= watermarks[p][1] for p in range(args.partitions)),
    'errors': errors,
})

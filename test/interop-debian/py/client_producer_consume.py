"""confluent-kafka Consumer with assign() (no group): read a whole topic written by Fjord's own
producer and print every record (partition, offset, key, value, timestamp type and value, headers
with values as hex) as one JSON document, so the test compares them field by field.
"""
import argparse
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from fjord_common import emit

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', required=True)
ap.add_argument('--topic', required=True)
ap.add_argument('--timeout', type=float, default=60.0)
args = ap.parse_args()

consumer = Consumer({
    'bootstrap.servers': args.bootstrap,
    'group.id': 'fjord-interop-unused',  # required by the client; unused with assign() and no commits
    'enable.auto.commit': False,
    'enable.auto.offset.store': False,
    'auto.offset.reset': 'earliest',
})

md = consumer.list_topics(args.topic, timeout=15)
t = md.topics[args.topic]
if t.error is not None:
    raise SystemExit('topic error: %s' % t.error)
partitions = sorted(t.partitions.keys())
high = {p: consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=15)[1] for p in partitions}

consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in partitions])
records = []
errors = []
done = {p: high[p] == 0 for p in partitions}
deadline = time.time() + args.timeout
while not all(done.values()) and time.time() < deadline:
    for m in consumer.consume(num_messages=1000, timeout=0.5):
        if m.error() is not None:
            errors.append(m.error().name())
            continue
        ts_type, ts = m.timestamp()
        records.append({
            'partition': m.partition(),
            'offset': m.offset(),
            'key': m.key().decode('utf-8') if m.key() is not None else None,
            'value': m.value().decode('utf-8') if m.value() is not None else None,
            'timestamp_type': ts_type,
            'timestamp': ts,
            'headers': [[k, v.hex() if v is not None else None] for k, v in (m.headers() or [])],
        })
        if m.offset() + 1 >= high[m.partition()]:
            done[m.partition()] = True
consumer.close()
emit({'complete': all(done.values()), 'errors': errors, 'records': records})

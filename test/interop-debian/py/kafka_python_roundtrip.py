"""kafka-python 2.0.2: create a topic, produce N keyed JSON records with the seed's producer
configuration and a compression codec, read them back with a group-less KafkaConsumer, and print
one JSON summary line comparing both sides.

usage: kafka_python_roundtrip.py BOOTSTRAP TOPIC CODEC COUNT PARTITIONS
"""
import hashlib
import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

bootstrap, topic, codec, count, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

admin = KafkaAdminClient(bootstrap_servers=[bootstrap], request_timeout_ms=10000)
admin.create_topics([NewTopic(name=topic, num_partitions=partitions, replication_factor=1)])
admin.close()

# The seed's producer configuration (minus enable_idempotence, which kafka-python 2.0.2 lacks).
producer = KafkaProducer(
    bootstrap_servers=[bootstrap],
    value_serializer=lambda v: json.dumps(v).encode('utf-8'),
    key_serializer=lambda k: k.encode('utf-8') if k else None,
    acks='all',
    retries=3,
    batch_size=16384,
    linger_ms=10,
    compression_type=codec,
    max_in_flight_requests_per_connection=1,
)

filler = 'the quick brown fjord jumps over the lazy broker; ' * 20  # ~1 KB, compressible
futures = []
for i in range(count):
    key = 'user%d' % (i % 37)
    event = {'seq': i, 'user_id': str(i % 37), 'action': 'click', 'timestamp': '2024-01-15T10:00:00Z', 'pad': filler}
    futures.append((i, key, event, producer.send(topic=topic, key=key, value=event)))
producer.flush(timeout=60)

produced = []  # (partition, offset, key, value bytes, seq)
for i, key, event, fut in futures:
    md = fut.get(timeout=30)
    produced.append((md.partition, md.offset, key, json.dumps(event).encode('utf-8'), i))
producer.close(timeout=10)


def summarize(rows):
    """rows: (partition, offset, key, value) in the order to be hashed."""
    h = hashlib.sha256()
    per = {}
    for p, off, key, value in rows:
        h.update(b'%d|%d|%s|' % (p, off, key.encode('utf-8')))
        h.update(hashlib.sha256(value).digest())
        s = per.setdefault(str(p), {'count': 0, 'first_offset': off, 'last_offset': off, 'first_key': key, 'last_key': key})
        s['count'] += 1
        s['last_offset'] = off
        s['last_key'] = key
    return {'count': len(rows), 'partitions': per, 'digest': h.hexdigest()}


# Producer side: delivery reports sorted by (partition, offset).
by_pos = sorted(produced)
send_order_ok = True
last_seq = {}
for p, off, key, value, seq in by_pos:
    if seq < last_seq.get(p, -1):
        send_order_ok = False
    last_seq[p] = seq
produce_summary = summarize([(p, off, key, value) for p, off, key, value, _ in by_pos])

consumer = KafkaConsumer(
    bootstrap_servers=[bootstrap],
    group_id=None,
    auto_offset_reset='earliest',
    enable_auto_commit=False,
    consumer_timeout_ms=1000,
)
tps = [TopicPartition(topic, p) for p in range(partitions)]
consumer.assign(tps)
consumer.seek_to_beginning(*tps)
ends = consumer.end_offsets(tps)
consumed = {p: [] for p in range(partitions)}
deadline = time.time() + 60
total = 0
while total < count and time.time() < deadline:
    batch = consumer.poll(timeout_ms=1000, max_records=2000)
    for tp, records in batch.items():
        for r in records:
            consumed[tp.partition].append((tp.partition, r.offset, r.key.decode('utf-8'), r.value))
            total += 1
consumer.close()

# Consumer side: per partition in the order received (so order differences change the digest).
consume_summary = summarize([row for p in range(partitions) for row in consumed[p]])
print(json.dumps({
    'produced': produce_summary,
    'consumed': consume_summary,
    'send_order_preserved': send_order_ok,
    'end_offsets': {str(tp.partition): off for tp, off in ends.items()},
}))

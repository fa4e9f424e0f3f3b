"""kafka-python 2.0.2 pinned to an old protocol: api_version=(0, 10, 1) makes it produce magic-1
message sets with Produce v2 and read with Fetch v3 (magic 1); (0, 9) means Produce v1 and Fetch v1
with magic 0. Produces COUNT keyed records to partition 0 of TOPIC (which must exist), reads them back,
and prints one JSON line: what was sent, what came back, and the consumer's view of the end offset.
With a GROUP, the reader is a group member (JoinGroup/SyncGroup/OffsetCommit of that era) that
commits, and a second member then resumes from the committed offset after more records are sent.

usage: legacy_kafka_python.py BOOTSTRAP TOPIC CODEC COUNT API_VERSION [GROUP]
"""
import hashlib
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic, codec, count, api = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
group = sys.argv[6] if len(sys.argv) > 6 else None
api_version = tuple(int(x) for x in api.split('.'))
magic = 1 if api_version >= (0, 10) else 0
BASE_TS = 1700000000000


def produce(start, n):
    producer = KafkaProducer(
        bootstrap_servers=[bootstrap],
        api_version=api_version,
        acks='all',
        linger_ms=20,
        batch_size=16384,
        compression_type=None if codec == 'none' else codec,
    )
    futures = []
    for i in range(start, start + n):
        key = None if i % 10 == 3 else ('key-%d' % i).encode()
        value = None if i % 10 == 7 else (('value-%d|' % i) + 'legacy ' * (i % 50)).encode()
        kwargs = {'timestamp_ms': BASE_TS + i} if magic == 1 else {}
        futures.append((i, key, value, producer.send(topic, key=key, value=value, partition=0, **kwargs)))
    producer.flush(timeout=60)
    sent = []
    for i, key, value, fut in futures:
        md = fut.get(timeout=30)
        sent.append(row(md.offset, BASE_TS + i if magic == 1 else -1, key, value))
    producer.close(timeout=10)
    return sent


def row(offset, timestamp, key, value):
    digest = hashlib.sha256(value).hexdigest()[:16] if value is not None else None
    return [offset, timestamp, key.decode() if key is not None else None, digest]


def consume(consumer, want, deadline_s=60):
    got = []
    deadline = time.time() + deadline_s
    while len(got) < want and time.time() < deadline:
        for _tp, records in consumer.poll(timeout_ms=500, max_records=1000).items():
            for r in records:
                # kafka-python reports magic-0 messages with timestamp -1 (none).
                ts = r.timestamp if r.timestamp is not None else -1
                got.append(row(r.offset, ts, r.key, r.value))
    return got


sent = produce(0, count)
result = {'sent': sent}
tp = TopicPartition(topic, 0)
if group is None:
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], api_version=api_version, group_id=None,
                             auto_offset_reset='earliest', enable_auto_commit=False)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    result['received'] = consume(consumer, count)
    result['end_offset'] = consumer.end_offsets([tp])[tp] if api_version >= (0, 10, 1) else None
    consumer.close()
else:
    def member():
        return KafkaConsumer(topic, bootstrap_servers=[bootstrap], api_version=api_version, group_id=group,
                             auto_offset_reset='earliest', enable_auto_commit=False)
    first = member()
    result['received'] = consume(first, count)
    first.commit()
    first.close(autocommit=False)
    more = produce(count, 5)
    result['sent_more'] = more
    second = member()
    result['resumed'] = consume(second, len(more))
    second.close(autocommit=False)
print(json.dumps(result))

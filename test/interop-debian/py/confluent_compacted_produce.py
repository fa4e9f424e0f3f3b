"""confluent-kafka (librdkafka 2.0.2): write a compacted topic's history. ROUNDS rounds over KEYS
keys (value "k<i>-r<round>"), then a tombstone for every key in DELETED (comma-separated indexes),
then TAIL records with unique keys ("tail-<i>"), so the keyed history ends up outside the active
segment. Each record is flushed on its own (one record per batch, the broker rolls segments
between them). Prints one JSON line: every record as [offset, key, value or null] plus the
tombstones' CreateTime.

usage: confluent_compacted_produce.py BOOTSTRAP TOPIC KEYS ROUNDS DELETED TAIL
"""
import json
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, keys, rounds, deleted, tail = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
deleted = [int(x) for x in deleted.split(',') if x != '']

p = Producer({'bootstrap.servers': bootstrap, 'acks': 'all', 'linger.ms': 0})
written = []
errors = []


def send(key, value, **kw):
    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            written.append([msg.offset(), key, None if value is None else value.decode()])
    p.produce(topic, key=key.encode(), value=value, partition=0, on_delivery=report, **kw)
    p.flush(15)


pad = '.' * 100
for r in range(rounds):
    for k in range(keys):
        send('k%d' % k, ('k%d-r%d|%s' % (k, r, pad)).encode())
tombstone_ts = int(time.time() * 1000)
for k in deleted:
    send('k%d' % k, None, timestamp=tombstone_ts)
for i in range(tail):
    send('tail-%d' % i, ('tail-%d|%s' % (i, pad)).encode())
print(json.dumps({'written': written, 'errors': errors, 'tombstone_ts': tombstone_ts}))

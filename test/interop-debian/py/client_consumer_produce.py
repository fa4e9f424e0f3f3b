"""confluent-kafka Producer (librdkafka) for the Fjord consumer interop test: keyed records with
headers (repeated keys, a NULL value, binary bytes) and explicit timestamps, spread over the topic's
partitions by librdkafka's default partitioner. Prints one JSON document as its last line: every
acknowledged record as the delivery report saw it, sorted by (partition, offset), so the test can
compare the Fjord consumer's view record by record.
"""
import argparse
import base64
import json
import sys

from confluent_kafka import Producer

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', required=True)
ap.add_argument('--topic', required=True)
ap.add_argument('--count', type=int, required=True)
ap.add_argument('--codec', default='none')
ap.add_argument('--ts-base', type=int, default=1700000000000)
args = ap.parse_args()

FILLER = 'the quick brown fjord jumps over the lazy broker; '


def b64(b):
    return None if b is None else base64.b64encode(b).decode('ascii')


def record(i):
    key = ('key-%d' % (i % 41)).encode('utf-8')
    # Mostly ~1 KB compressible values; every 50th is a tombstone (NULL value).
    value = None if i % 50 == 49 else ('%s-%08d|' % (args.codec, i) + FILLER * 21)[:1024].encode('utf-8')
    headers = [('seq', str(i).encode('ascii')), ('bin', bytes([i % 256, 0, 255])), ('seq', b'again'), ('nothing', None)]
    return key, value, headers


producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'acks': 'all',
    'enable.idempotence': False,
    'compression.type': args.codec,
    'linger.ms': 5,
    'message.timeout.ms': 30000,
})

acked = []
failed = []


def on_delivery(i, err, msg):
    if err is not None:
        failed.append(err.name())
        return
    # Delivery reports do not carry headers back: rebuild what record i was sent with.
    key, value, headers = record(i)
    acked.append({
        'partition': msg.partition(), 'offset': msg.offset(), 'timestamp': msg.timestamp()[1],
        'key': b64(key), 'value': b64(value), 'headers': [[k, b64(v)] for k, v in headers],
    })


for i in range(args.count):
    key, value, headers = record(i)
    while True:
        try:
            producer.produce(args.topic, key=key, value=value, headers=headers, timestamp=args.ts_base + i, on_delivery=lambda err, msg, i=i: on_delivery(i, err, msg))
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
remaining = producer.flush(40)

acked.sort(key=lambda r: (r['partition'], r['offset']))
sys.stdout.write(json.dumps({'records': acked, 'failed': failed, 'undelivered': remaining}) + '\n')
sys.stdout.flush()

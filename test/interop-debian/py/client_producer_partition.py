"""confluent-kafka Producer with librdkafka's `murmur2_random` partitioner (the Java-compatible one)
produces one record per key read from stdin (a JSON list of strings) and prints, as one JSON
document, the partition its delivery report names for each key.
"""
import argparse
import json
import sys

from confluent_kafka import Producer

from fjord_common import emit

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', required=True)
ap.add_argument('--topic', required=True)
args = ap.parse_args()

keys = json.load(sys.stdin)
partitions = {}
errors = []


def on_delivery(err, msg):
    if err is not None:
        errors.append(err.name())
    else:
        partitions[msg.key().decode('utf-8')] = msg.partition()


producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'partitioner': 'murmur2_random',
    'acks': 'all',
    'linger.ms': 5,
})
for k in keys:
    producer.produce(args.topic, key=k.encode('utf-8'), value=b'v', on_delivery=on_delivery)
    producer.poll(0)
undelivered = producer.flush(30)
emit({'partitions': partitions, 'errors': errors, 'undelivered': undelivered})

"""kafka-python 2.0.2 consumer group, as in the seed: group_id='analytics-group',
auto_offset_reset='earliest', enable_auto_commit=True. Reads until it has COUNT records or times out,
closes (committing), and prints a JSON summary.

usage: kafka_python_group.py BOOTSTRAP TOPIC GROUP COUNT
"""
import json
import sys
import time

from kafka import KafkaConsumer

bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
consumer = KafkaConsumer(
    topic,
    bootstrap_servers=[bootstrap],
    group_id=group,
    value_deserializer=lambda m: json.loads(m.decode('utf-8')),
    auto_offset_reset='earliest',
    enable_auto_commit=True,
    auto_commit_interval_ms=200,
    consumer_timeout_ms=15000,
)
seen = []
deadline = time.time() + 30
for message in consumer:
    seen.append([message.partition, message.offset, message.value['seq']])
    if len(seen) >= count or time.time() > deadline:
        break
assignment = sorted(tp.partition for tp in consumer.assignment())
consumer.close()  # commits
print(json.dumps({'seen': seen, 'assignment': assignment}))

"""One kafka-python 2.0.2 group member configured like the seed's consumer (auto_offset_reset=
'earliest', enable_auto_commit=True), running for RUN_SECONDS, then closing (which commits). Prints a
JSON summary: what it consumed and the assignment it held at the end.

usage: kafka_python_member.py BOOTSTRAP TOPIC GROUP RUN_SECONDS
"""
import json
import sys
import time

from kafka import KafkaConsumer

bootstrap, topic, group, run_seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
consumer = KafkaConsumer(
    topic,
    bootstrap_servers=[bootstrap],
    group_id=group,
    auto_offset_reset='earliest',
    enable_auto_commit=True,
    auto_commit_interval_ms=200,
    session_timeout_ms=6000,
    heartbeat_interval_ms=500,
)
seen = []
assignments = []
end = time.time() + run_seconds
while time.time() < end:
    batch = consumer.poll(timeout_ms=200)
    for tp, messages in batch.items():
        for m in messages:
            seen.append([m.partition, m.offset, m.value.decode()])
    current = sorted(tp.partition for tp in consumer.assignment())
    if not assignments or assignments[-1][0] != current:
        assignments.append([current, time.time()])
consumer.close()
print(json.dumps({'seen': seen, 'assignments': assignments}))

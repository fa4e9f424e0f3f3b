"""confluent-kafka (librdkafka) group member for the mixed-group test with the Fjord consumer:
subscribes with partition.assignment.strategy=range, reads until it has seen COUNT records or
TIMEOUT seconds passed, committing each record synchronously, then closes (LeaveGroup). Prints one
JSON document on stdout: the records it saw, its assign/revoke callbacks and its final assignment.

usage: client_group_member.py BOOTSTRAP TOPIC GROUP COUNT TIMEOUT_SECONDS
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException

bootstrap, topic, group, count, timeout_s = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])

events = []


def on_assign(c, partitions):
    events.append(['assign', sorted(p.partition for p in partitions)])
    c.assign(partitions)


def on_revoke(c, partitions):
    events.append(['revoke', sorted(p.partition for p in partitions)])
    c.unassign()


consumer = Consumer({
    'bootstrap.servers': bootstrap,
    'group.id': group,
    'client.id': 'librdkafka-member',
    'auto.offset.reset': 'earliest',
    'enable.auto.commit': False,
    'partition.assignment.strategy': 'range',
    'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 300,
    'topic.metadata.refresh.interval.ms': 1000,
})
consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
seen = []
end = time.time() + timeout_s
while time.time() < end and len(seen) < count:
    msg = consumer.poll(0.1)
    if msg is None:
        continue
    if msg.error():
        raise KafkaException(msg.error())
    seen.append([msg.partition(), msg.offset(), msg.value().decode()])
    consumer.commit(message=msg, asynchronous=False)
assignment = sorted(p.partition for p in consumer.assignment())
consumer.close()
sys.stdout.write(json.dumps({'seen': seen, 'events': events, 'assignment': assignment}) + '\n')
sys.stdout.flush()

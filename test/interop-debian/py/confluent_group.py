"""confluent-kafka (librdkafka 2.0.2) group consumer with a chosen assignment strategy. Consumes
until the topic's COUNT records have been seen by the whole group (the test runs several of these
processes at once), committing synchronously after each message. Prints one JSON line per
rebalance event on stderr and a JSON summary on stdout.

usage: confluent_group.py BOOTSTRAP TOPIC GROUP STRATEGY RUN_SECONDS [INSTANCE_ID]
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException

bootstrap, topic, group, strategy, run_seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
instance = sys.argv[6] if len(sys.argv) > 6 else None
conf = {
    'bootstrap.servers': bootstrap,
    'group.id': group,
    'auto.offset.reset': 'earliest',
    'enable.auto.commit': False,
    'partition.assignment.strategy': strategy,
    'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 500,
    'topic.metadata.refresh.interval.ms': 1000,
}
if instance:
    conf['group.instance.id'] = instance
events = []
assigned = set()

def on_assign(c, partitions):
    for p in partitions:
        assigned.add(p.partition)
    events.append(['assign', sorted(p.partition for p in partitions), time.time()])
    if strategy == 'cooperative-sticky':
        c.incremental_assign(partitions)
    else:
        c.assign(partitions)

def on_revoke(c, partitions):
    for p in partitions:
        assigned.discard(p.partition)
    events.append(['revoke', sorted(p.partition for p in partitions), time.time()])
    if strategy == 'cooperative-sticky':
        c.incremental_unassign(partitions)
    else:
        c.unassign()

consumer = Consumer(conf)
consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
seen = []
end = time.time() + run_seconds
while time.time() < end:
    msg = consumer.poll(0.2)
    if msg is None:
        continue
    if msg.error():
        raise KafkaException(msg.error())
    seen.append([msg.partition(), msg.offset(), msg.value().decode()])
    consumer.commit(message=msg, asynchronous=False)
final_assignment = sorted(assigned)
consumer.close()
print(json.dumps({'seen': seen, 'events': events, 'assignment': final_assignment}))

"""kafka-python 2.0.2: create a one-partition topic with the given topic configs, then produce OLD
records with the CreateTime OLD_TS (+ i) and FRESH records stamped now, one record per batch (each
send is awaited), so the broker rolls segments between records. Prints one JSON line with the
offsets.

usage: kafka_python_timed_produce.py BOOTSTRAP TOPIC OLD OLD_TS FRESH [key=value ...]
"""
import json
import sys

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

bootstrap, topic, old, old_ts, fresh = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
configs = dict(arg.split('=', 1) for arg in sys.argv[6:])

admin = KafkaAdminClient(bootstrap_servers=[bootstrap], request_timeout_ms=10000)
admin.create_topics([NewTopic(name=topic, num_partitions=1, replication_factor=1, topic_configs=configs)])
admin.close()

producer = KafkaProducer(bootstrap_servers=[bootstrap], acks='all', linger_ms=0, retries=3)
pad = '.' * 300
old_offsets, fresh_offsets = [], []
for i in range(old):
    md = producer.send(topic, value=('old-%d|%s' % (i, pad)).encode(), partition=0, timestamp_ms=old_ts + i).get(timeout=30)
    old_offsets.append(md.offset)
for i in range(fresh):
    md = producer.send(topic, value=('fresh-%d|%s' % (i, pad)).encode(), partition=0).get(timeout=30)
    fresh_offsets.append(md.offset)
producer.close(timeout=10)
print(json.dumps({'old': old_offsets, 'fresh': fresh_offsets}))

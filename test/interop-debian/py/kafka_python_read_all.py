"""kafka-python 2.0.2: read partition 0 of TOPIC from the beginning to the end offset, group-less,
and print one JSON line: the log's beginning and end offsets and every record as
[offset, key, value or null].

usage: kafka_python_read_all.py BOOTSTRAP TOPIC
"""
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
tp = TopicPartition(topic, 0)
c = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False, auto_offset_reset='earliest', consumer_timeout_ms=1000)
c.assign([tp])
begin = c.beginning_offsets([tp])[tp]
end = c.end_offsets([tp])[tp]
c.seek_to_beginning(tp)
records = []
deadline = time.time() + 30
while c.position(tp) < end and time.time() < deadline:
    for batch in c.poll(timeout_ms=500).values():
        for m in batch:
            records.append([m.offset, None if m.key is None else m.key.decode(), None if m.value is None else m.value.decode()])
c.close()
print(json.dumps({'begin': begin, 'end': end, 'records': records}))

"""confluent-kafka (librdkafka 2.0.2) and a committed offset below the log start.

  commit BOOTSTRAP TOPIC GROUP OFFSET
      commit OFFSET for partition 0 in GROUP (synchronously) and read it back.
  consume BOOTSTRAP TOPIC GROUP RESET [SECONDS]
      subscribe in GROUP with auto.offset.reset=RESET (earliest, latest or error); the first fetch
      at the committed offset gets OFFSET_OUT_OF_RANGE from the broker. earliest: read up to the
      high watermark. error: report the error event. latest: after the reset, produce one marker
      record and report what is read (it must be the marker, at the old end offset).

Prints one JSON line.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

mode, bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

if mode == 'commit':
    offset = int(sys.argv[5])
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'enable.auto.commit': False})
    c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    got = c.committed([TopicPartition(topic, 0)], timeout=15)
    c.close()
    print(json.dumps({'committed': got[0].offset}))
    sys.exit(0)

reset = sys.argv[5]
seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 20.0
c = Consumer({
    'bootstrap.servers': bootstrap,
    'group.id': group,
    'auto.offset.reset': reset,
    'enable.auto.commit': False,
    'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 500,
})
assigned = []
c.subscribe([topic], on_assign=lambda consumer, parts: assigned.extend(p.partition for p in parts))
low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=15)
records, errors = [], []
marker = None
deadline = time.time() + seconds
quiet_since = None
while time.time() < deadline:
    m = c.poll(0.2)
    if m is None:
        if reset == 'latest' and assigned and marker is None:
            # Give the reset a moment once assigned, then write the marker.
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since > 2.0:
                p = Producer({'bootstrap.servers': bootstrap, 'acks': 'all'})
                p.produce(topic, value=b'marker', partition=0)
                p.flush(15)
                marker = True
        continue
    if m.error() is not None:
        errors.append({'code': m.error().code(), 'name': m.error().name(), 'str': m.error().str(),
                       'is_auto_offset_reset': m.error().code() == KafkaError._AUTO_OFFSET_RESET})
        if reset == 'error':
            break
        continue
    records.append([m.offset(), m.value().decode('utf-8', 'replace')[:40]])
    if reset == 'earliest' and m.offset() + 1 >= high:
        break
    if reset == 'latest' and marker:
        break
c.close()
print(json.dumps({'low': low, 'high': high, 'assigned': assigned, 'records': records, 'errors': errors}))

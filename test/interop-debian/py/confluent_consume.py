"""confluent-kafka Consumer with assign() (no group protocol, no commits): read a whole topic from
the beginning up to the high watermarks, and summarise it in consumption order per partition.
Also answers get_watermark_offsets and (with --query-ts) offsets_for_times.

Prints one JSON document.
"""
import argparse
import json
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from fjord_common import Digest, emit, seq_of, vhash

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', required=True)
ap.add_argument('--topic', required=True)
ap.add_argument('--query-ts', type=int, default=None)
ap.add_argument('--records-out', default=None, help='write [p, offset, key, value sha256, seq] per record, consumption order')
ap.add_argument('--timeout', type=float, default=60.0)
args = ap.parse_args()

consumer = Consumer({
    'bootstrap.servers': args.bootstrap,
    'group.id': 'fjord-interop-unused',  # required by the client; unused with assign() and no commits
    'enable.auto.commit': False,
    'enable.auto.offset.store': False,
    'auto.offset.reset': 'earliest',
})

md = consumer.list_topics(args.topic, timeout=15)
t = md.topics[args.topic]
if t.error is not None:
    raise SystemExit('topic error: %s' % t.error)
partitions = sorted(t.partitions.keys())

watermarks = {}
for p in partitions:
    low, high = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=15)
    watermarks[str(p)] = [low, high]

oft = None
if args.query_ts is not None:
    res = consumer.offsets_for_times([TopicPartition(args.topic, p, args.query_ts) for p in partitions], timeout=15)
    oft = {str(tp.partition): tp.offset for tp in res}
    res_future = consumer.offsets_for_times([TopicPartition(args.topic, p, args.query_ts + 10 ** 9) for p in partitions], timeout=15)
    oft_future = {str(tp.partition): tp.offset for tp in res_future}
else:
    oft_future = None

consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in partitions])
rows = {p: [] for p in partitions}
done = {p: watermarks[str(p)][1] <= watermarks[str(p)][0] for p in partitions}
errors = []
deadline = time.time() + args.timeout
while not all(done.values()) and time.time() < deadline:
    for m in consumer.consume(num_messages=1000, timeout=0.5):
        if m.error() is not None:
            errors.append(m.error().name())
            continue
        p = m.partition()
        rows[p].append((p, m.offset(), m.key().decode('utf-8') if m.key() is not None else None, m.value(), m.headers() or []))
        if m.offset() + 1 >= watermarks[str(p)][1]:
            done[p] = True
consumer.close()

digest = Digest()
contiguous = True
for p in partitions:
    expect = watermarks[str(p)][0]
    for row in rows[p]:
        if row[1] != expect:
            contiguous = False
        expect = row[1] + 1
        digest.add(*row)

if args.records_out:
    with open(args.records_out, 'w') as f:
        json.dump([[r[0], r[1], r[2], vhash(r[3]), seq_of(r[3])] for p in partitions for r in rows[p]], f)

out = digest.summary()
out.update({
    'complete': all(done.values()),
    'contiguous': contiguous,
    'errors': sorted(set(errors)),
    'watermarks': watermarks,
    'offsets_for_times': oft,
    'offsets_for_times_future': oft_future,
})
emit(out)

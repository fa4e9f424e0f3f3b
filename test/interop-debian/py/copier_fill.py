"""Pre-fills the copier torture's input topic with a transactional confluent-kafka Producer (librdkafka).

Writes --count unique committed records "in-<i>" (key "k<i>", partition i % partitions) in
transactions of --txn-size records, and after every --abort-every committed transactions one aborted
transaction of a few records "ab-<j>", so the copier's read_committed consumer has aborted data to
skip. Writes one JSON document to --out:
  {"txns": [{"outcome": "commit" | "abort", "records": [[partition, offset, value], ...]}, ...]}
and prints a JSON summary as its last stdout line."""
import argparse
import json
import time

from confluent_kafka import Producer

from fjord_common import emit

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', required=True)
ap.add_argument('--topic', required=True)
ap.add_argument('--partitions', type=int, required=True)
ap.add_argument('--count', type=int, required=True)
ap.add_argument('--txn-size', type=int, default=1000)
ap.add_argument('--abort-every', type=int, default=3)
ap.add_argument('--abort-size', type=int, default=7)
ap.add_argument('--out', required=True)
args = ap.parse_args()

producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'transactional.id': 'copier-fill-%d' % int(time.time() * 1000),
    'linger.ms': 5,
    'batch.num.messages': 2000,
})
producer.init_transactions(30)
txns = []
t0 = time.time()


def run_txn(values, outcome):
    delivered = []

    def on_delivery(err, msg):
        if err is not None:
            raise RuntimeError('delivery failed: %s' % err)
        delivered.append([msg.partition(), msg.offset(), msg.value().decode('ascii')])

    producer.begin_transaction()
    for (p, key, value) in values:
        while True:
            try:
                producer.produce(args.topic, key=key, value=value, partition=p, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    if outcome == 'commit':
        producer.commit_transaction(60)
    else:
        producer.abort_transaction(60)
    txns.append({'outcome': outcome, 'records': delivered})


i = 0
aborted = 0
committed_txns = 0
while i < args.count:
    n = min(args.txn_size, args.count - i)
    run_txn([(j % args.partitions, 'k%d' % j, 'in-%d' % j) for j in range(i, i + n)], 'commit')
    i += n
    committed_txns += 1
    if args.abort_every > 0 and committed_txns % args.abort_every == 0:
        vals = []
        for _ in range(args.abort_size):
            vals.append((aborted % args.partitions, 'kab%d' % aborted, 'ab-%d' % aborted))
            aborted += 1
        run_txn(vals, 'abort')

with open(args.out, 'w') as f:
    json.dump({'txns': txns}, f)
emit({'committed': i, 'aborted': aborted, 'txns': len(txns), 'elapsed_s': round(time.time() - t0, 3)})

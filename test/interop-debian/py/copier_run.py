"""The copier of the transactional torture: consume -> transform -> produce, exactly once, with
confluent-kafka (librdkafka). A read_committed group consumer (static member, no auto commit) and a
transactional producer; each loop polls a batch, begins a transaction, writes value + '-copied' with
the same key to the same partition number of the output topic (so per-partition order is kept), adds
the consumed positions with send_offsets_to_transaction, and commits. A transaction that must abort is
aborted and the consumer rewound to the positions last committed. A fatal error ends the process
(exit 3); the test restarts it, as it restarts it after SIGKILL.

Every output record carries a header txn=<run>.<seq>, so an aborted attempt and its retry are told
apart. One JSON line per event on stdout, flushed at once:
  {"e": "assign", "pos": {p: committed offset}}
  {"e": "begin", "seq": n, "in": {p: [[offset, value], ...]}, "from": {p: pos}, "to": {p: pos}}
  {"e": "end", "seq": n, "outcome": "ok" | "fail" | "info", "out": {p: [[offset, value], ...]}, "error": str}
  {"e": "error", "error": str}"""
import argparse
import json
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', required=True)
ap.add_argument('--input', required=True)
ap.add_argument('--output', required=True)
ap.add_argument('--group', required=True)
ap.add_argument('--transactional-id', required=True)
ap.add_argument('--run', required=True, help='names this incarnation in the txn header')
ap.add_argument('--batch', type=int, default=300)
ap.add_argument('--txn-timeout-ms', type=int, default=10000)
ap.add_argument('--offsets-outside-txn', action='store_true',
                help='control: commit the consumed offsets with the consumer after the transaction commits '
                     '(at-least-once), to prove the torture can fail')
args = ap.parse_args()


def say(doc):
    sys.stdout.write(json.dumps(doc, separators=(',', ':')) + '\n')
    sys.stdout.flush()


stop = threading.Event()


def watch_stdin():
    try:
        sys.stdin.read()
    finally:
        stop.set()


threading.Thread(target=watch_stdin, daemon=True).start()

pos = {}


def on_error(err):
    say({'e': 'error', 'error': '%s: %s' % (err.name(), err.str()), 'fatal': err.fatal()})


def on_assign(consumer, parts):
    committed = consumer.committed(parts, timeout=60)
    pos.clear()
    for tp in committed:
        pos[tp.partition] = tp.offset if tp.offset >= 0 else 0
    say({'e': 'assign', 'pos': pos})
    consumer.assign([TopicPartition(args.input, p, o) for p, o in pos.items()])


def on_revoke(consumer, parts):
    say({'e': 'revoke', 'parts': [tp.partition for tp in parts]})
    for tp in parts:
        pos.pop(tp.partition, None)
    consumer.unassign()


consumer = Consumer({
    'bootstrap.servers': args.bootstrap,
    'group.id': args.group,
    'group.instance.id': 'copier-0',
    'session.timeout.ms': 10000,
    'isolation.level': 'read_committed',
    'enable.auto.commit': False,
    'auto.offset.reset': 'earliest',
    'enable.partition.eof': False,
    'reconnect.backoff.ms': 50,
    'reconnect.backoff.max.ms': 500,
    'error_cb': on_error,
})
producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'transactional.id': args.transactional_id,
    'transaction.timeout.ms': args.txn_timeout_ms,
    'linger.ms': 5,
    'reconnect.backoff.ms': 50,
    'reconnect.backoff.max.ms': 500,
    'retry.backoff.ms': 50,
    'error_cb': on_error,
})
producer.init_transactions(60)
say({'e': 'init'})
consumer.subscribe([args.input], on_assign=on_assign, on_revoke=on_revoke)


def rewind():
    for p, o in pos.items():
        consumer.seek(TopicPartition(args.input, p, o))


def kerr(e):
    err = e.args[0]
    return err, '%s: %s' % (err.name(), err.str())


seq = 0
while not stop.is_set():
    msgs = consumer.consume(args.batch, 0.2)
    batch = [m for m in msgs if m.error() is None]
    for m in msgs:
        if m.error() is not None:
            say({'e': 'error', 'error': m.error().name(), 'fatal': False})
    if not batch:
        continue
    seq += 1
    ins = {}
    for m in batch:
        ins.setdefault(m.partition(), []).append([m.offset(), m.value().decode('ascii')])
    frm = {p: pos.get(p) for p in ins}
    to = {p: ins[p][-1][0] + 1 for p in ins}
    say({'e': 'begin', 'seq': seq, 'in': ins, 'from': frm, 'to': to})
    out = {}

    def on_delivery(err, msg):
        if err is None:
            out.setdefault(msg.partition(), []).append([msg.offset(), msg.value().decode('ascii')])

    header = [('txn', ('%s.%d' % (args.run, seq)).encode('ascii'))]
    outcome = 'ok'
    error = None
    try:
        producer.begin_transaction()
        for m in batch:
            while True:
                try:
                    producer.produce(args.output, key=m.key(), value=m.value() + b'-copied', partition=m.partition(),
                                     headers=header, on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.05)
        offsets = [TopicPartition(args.input, p, o) for p, o in to.items()]
        if not args.offsets_outside_txn:
            producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 60)
        while True:
            try:
                producer.commit_transaction(60)
                break
            except KafkaException as e:
                err, text = kerr(e)
                if err.retriable():
                    say({'e': 'error', 'error': 'commit retry ' + text, 'fatal': False})
                    continue
                raise
    except KafkaException as e:
        err, error = kerr(e)
        if err.txn_requires_abort():
            try:
                producer.abort_transaction(60)
                outcome = 'fail'
            except KafkaException as e2:
                outcome = 'info'
                error += ' / abort: ' + kerr(e2)[1]
        else:
            outcome = 'info'
    say({'e': 'end', 'seq': seq, 'outcome': outcome, 'out': out, 'error': error})
    if outcome == 'ok':
        if args.offsets_outside_txn:
            time.sleep(0.02)
            consumer.commit(offsets=[TopicPartition(args.input, p, o) for p, o in to.items()], asynchronous=False)
        for p, o in to.items():
            pos[p] = o
    elif outcome == 'fail':
        rewind()
    else:
        sys.exit(3)
consumer.close()
say({'e': 'exit'})

"""confluent-kafka Producer (librdkafka) with enable.idempotence=true and acks=all, writing unique
values "<tag>-<i>" to partition i % partitions at a steady rate, for the kill -9 tests.

Streams one line per outcome as it happens, so the test can follow progress while it kills the broker:
  a <i> <partition> <offset>     delivery report: acknowledged
  f <i> <error name>             delivery report: failed (the outcome is unknown to the caller)
  e <error name> <fatal 0|1> <text>   error_cb
then one JSON summary as the last line. Production stops at --count or when stdin reaches EOF
(the test closes it), whichever comes first; then the producer flushes.
"""
import argparse
import sys
import threading
import time

from confluent_kafka import Producer

from fjord_common import emit

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', required=True)
ap.add_argument('--topic', required=True)
ap.add_argument('--partitions', type=int, required=True)
ap.add_argument('--count', type=int, required=True)
ap.add_argument('--rate', type=float, default=2000.0, help='records per second')
ap.add_argument('--tag', default='v')
ap.add_argument('--message-timeout-ms', type=int, default=180000)
ap.add_argument('--flush-timeout-s', type=float, default=200.0)
ap.add_argument('--no-idempotence', action='store_true', help='for checking that the test can fail')
args = ap.parse_args()

stop = threading.Event()


def watch_stdin():
    try:
        sys.stdin.read()
    finally:
        stop.set()


threading.Thread(target=watch_stdin, daemon=True).start()

out = []
state = {'acked': 0, 'failed': 0, 'fatal': None, 'errors': {}}


def on_error(err):
    name = err.name()
    state['errors'][name] = state['errors'].get(name, 0) + 1
    if err.fatal():
        state['fatal'] = '%s: %s' % (name, err.str())
    out.append('e %s %d %s\n' % (name, 1 if err.fatal() else 0, err.str().replace('\n', ' ')))


def on_delivery(err, msg):
    i = int(msg.value().decode('ascii').rsplit('-', 1)[1])
    if err is not None:
        state['failed'] += 1
        out.append('f %d %s\n' % (i, err.name()))
    else:
        state['acked'] += 1
        out.append('a %d %d %d\n' % (i, msg.partition(), msg.offset()))


conf = {
    'bootstrap.servers': args.bootstrap,
    'enable.idempotence': not args.no_idempotence,
    'acks': 'all',
    'linger.ms': 5,
    'message.timeout.ms': args.message_timeout_ms,
    'reconnect.backoff.ms': 50,
    'reconnect.backoff.max.ms': 500,
    'retry.backoff.ms': 50,
    'socket.timeout.ms': 10000,
    'error_cb': on_error,
}
if args.no_idempotence:
    conf['retries'] = 1000000
    conf['max.in.flight.requests.per.connection'] = 5
producer = Producer(conf)

last_flush = time.time()


def drain_output():
    global last_flush
    if out:
        sys.stdout.write(''.join(out))
        del out[:]
    sys.stdout.flush()
    last_flush = time.time()


t0 = time.time()
attempted = 0
while attempted < args.count and not stop.is_set() and state['fatal'] is None:
    i = attempted
    value = ('%s-%d' % (args.tag, i)).encode('ascii')
    try:
        producer.produce(args.topic, value=value, partition=i % args.partitions, on_delivery=on_delivery)
    except BufferError:
        producer.poll(0.05)
        continue
    attempted += 1
    target = t0 + attempted / args.rate
    now = time.time()
    producer.poll(max(0.0, target - now))
    if time.time() - last_flush > 0.05:
        drain_output()

deadline = time.time() + args.flush_timeout_s
remaining = len(producer)
while remaining > 0 and time.time() < deadline and state['fatal'] is None:
    remaining = producer.flush(0.1)
    drain_output()
producer.poll(0)
drain_output()

emit({
    'attempted': attempted,
    'acked': state['acked'],
    'failed': state['failed'],
    'undelivered_in_queue': remaining,
    'fatal': state['fatal'],
    'errors': state['errors'],
    'elapsed_s': round(time.time() - t0, 3),
})

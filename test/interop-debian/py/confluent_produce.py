"""confluent-kafka Producer (librdkafka): produce keyed records with acks=all and no idempotence,
and summarise what the delivery reports say (partition + offset of every acknowledged record).

Prints progress lines ("acked N") when --progress is given, then one JSON summary as the last line.
"""
import argparse
import json
import time

from confluent_kafka import Producer

from fjord_common import Digest, emit, key_for, seq_of, value_for, vhash

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', required=True)
ap.add_argument('--topic', required=True)
ap.add_argument('--count', type=int, required=True)
ap.add_argument('--codec', default='none')
ap.add_argument('--tag', default='v')
ap.add_argument('--start', type=int, default=0, help='index of the first record')
ap.add_argument('--value-size', type=int, default=1024)
ap.add_argument('--ts-base', type=int, default=0, help='if set, record i gets timestamp ts_base + i (ms)')
ap.add_argument('--query-ts', type=int, default=None, help='compute the expected offsets_for_times answer')
ap.add_argument('--records-out', default=None, help='write [p, offset, key, value sha256, seq] per record')
ap.add_argument('--pace', type=int, default=0, help='pause 5 ms after every PACE records (a steady stream)')
ap.add_argument('--progress', type=int, default=0, help='print "acked N" every PROGRESS acks')
ap.add_argument('--message-timeout-ms', type=int, default=30000)
ap.add_argument('--stop-on-error', action='store_true', help='stop producing at the first client error (broker down)')
args = ap.parse_args()

state = {'acked': 0, 'next_progress': 0, 'broker_down': None}


def on_error(err):
    # Connection loss (_TRANSPORT, _ALL_BROKERS_DOWN): stop feeding new records.
    state['broker_down'] = err.name()


producer = Producer({
    'error_cb': on_error,
    'bootstrap.servers': args.bootstrap,
    'enable.idempotence': False,
    'acks': 'all',
    'compression.type': args.codec,
    'linger.ms': 5,
    'message.timeout.ms': args.message_timeout_ms,
    'queue.buffering.max.messages': 200000,
    'queue.buffering.max.kbytes': 1048576,
})

acked = []    # (partition, offset, key, value, headers, seq)
failed = []   # (seq, error name)
state['next_progress'] = args.progress


def on_delivery(err, msg):
    seq = seq_of(msg.value())
    if err is not None:
        failed.append((seq, err.name()))
        return
    # Delivery reports do not carry the headers back; they are the ones we sent.
    headers = [('seq', str(seq).encode('ascii'))]
    acked.append((msg.partition(), msg.offset(), msg.key().decode('utf-8'), msg.value(), headers, seq, msg.timestamp()[1]))
    state['acked'] += 1
    if args.progress and state['acked'] >= state['next_progress']:
        print('acked %d' % state['acked'], flush=True)
        state['next_progress'] += args.progress


t0 = time.time()
attempted = 0
for n in range(args.count):
    i = args.start + n
    if failed or (args.stop_on_error and state['broker_down']):
        break  # the broker went away: stop feeding, report what was acknowledged
    kwargs = {'key': key_for(i), 'value': value_for(args.tag, i, args.value_size), 'headers': [('seq', str(i).encode('ascii'))],
              'on_delivery': on_delivery}
    if args.ts_base:
        kwargs['timestamp'] = args.ts_base + i
    while True:
        try:
            producer.produce(args.topic, **kwargs)
            break
        except BufferError:
            producer.poll(0.05)
    attempted += 1
    producer.poll(0)
    if args.pace and (n + 1) % args.pace == 0:
        producer.poll(0.005)
remaining = producer.flush(args.message_timeout_ms / 1000 + 10)
elapsed = time.time() - t0

acked.sort()
digest = Digest()
send_order_ok = True
last_seq = {}
timestamps_ok = True
for p, off, key, value, headers, seq, ts in acked:
    digest.add(p, off, key, value, headers)
    if seq < last_seq.get(p, -1):
        send_order_ok = False
    last_seq[p] = seq
    if args.ts_base and ts != args.ts_base + seq:
        timestamps_ok = False

expected_oft = None
if args.query_ts is not None:
    expected_oft = {}
    for p, off, key, value, headers, seq, ts in acked:
        if ts >= args.query_ts and str(p) not in expected_oft:
            expected_oft[str(p)] = off

if args.records_out:
    with open(args.records_out, 'w') as f:
        json.dump([[p, off, key, vhash(value), seq] for p, off, key, value, headers, seq, ts in acked], f)

out = digest.summary()
out.update({
    'delivered': len(acked),
    'failed': len(failed),
    'errors': sorted({e for _, e in failed}),
    'client_error': state['broker_down'],
    'attempted': attempted,
    'undelivered_in_queue': remaining,
    'send_order_preserved': send_order_ok,
    'timestamps_ok': timestamps_ok,
    'expected_offsets_for_times': expected_oft,
    'elapsed_s': round(elapsed, 3),
})
emit(out)

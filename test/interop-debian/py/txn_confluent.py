"""librdkafka's transactional producer (confluent-kafka-python) against Fjord, one scenario per call:

  txn_confluent.py SCENARIO BOOTSTRAP TOPIC PARTITIONS

Scenarios: commit_abort, lso, fence, offsets, timeout. Each prints one JSON document (its observations)
as the last stdout line; the Node test judges them. Every wait here is bounded."""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition, OFFSET_BEGINNING

SCENARIO, BOOTSTRAP, TOPIC, PARTITIONS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def emit(doc):
    sys.stdout.write(json.dumps(doc) + '\n')
    sys.stdout.flush()


def err_str(e):
    """A KafkaException or KafkaError as 'NAME (code) fatal/abortable/retriable: text'."""
    ke = e.args[0] if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError) else e
    if isinstance(ke, KafkaError):
        flags = [f for f, on in (('fatal', ke.fatal()), ('abortable', ke.txn_requires_abort()), ('retriable', ke.retriable())) if on]
        return '%s (%d) %s: %s' % (ke.name(), ke.code(), ','.join(flags), ke.str())
    return repr(e)


def txn_producer(txn_id, **extra):
    conf = {'bootstrap.servers': BOOTSTRAP, 'transactional.id': txn_id, 'linger.ms': 5}
    conf.update(extra)
    return Producer(conf)


def plain_producer():
    return Producer({'bootstrap.servers': BOOTSTRAP, 'acks': 'all', 'linger.ms': 0, 'enable.idempotence': False})


def produce(p, partition, key, value, failures=None):
    def report(err, msg):
        if err is not None and failures is not None:
            failures.append(err_str(err))
    p.produce(TOPIC, key=key.encode(), value=value.encode(), partition=partition, on_delivery=report)


def flush(p, timeout=10):
    left = p.flush(timeout)
    if left != 0:
        raise RuntimeError('%d messages still queued after flush' % left)


def read_all(isolation, quiet_s=0.8, limit_s=20):
    """Every record of the topic from the beginning, as [partition, offset, key, value], plus the
    watermarks the consumer's ListOffsets answers for its isolation level."""
    c = Consumer({
        'bootstrap.servers': BOOTSTRAP, 'group.id': 'txn-reader-' + uuid.uuid4().hex, 'isolation.level': isolation,
        'enable.auto.commit': False, 'enable.partition.eof': True, 'auto.offset.reset': 'earliest',
        'fetch.wait.max.ms': 100,
    })
    try:
        c.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        out, errors, eof = [], [], set()
        last = time.time()
        deadline = time.time() + limit_s
        while time.time() < deadline:
            m = c.poll(0.1)
            if m is None:
                if len(eof) == PARTITIONS and time.time() - last > quiet_s:
                    break
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                else:
                    errors.append(err_str(m.error()))
                continue
            eof.discard(m.partition())
            last = time.time()
            out.append([m.partition(), m.offset(), m.key().decode() if m.key() else None, m.value().decode() if m.value() else None])
        watermarks = {}
        for p in range(PARTITIONS):
            lo, hi = c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=5, cached=False)
            watermarks[str(p)] = [lo, hi]
        return {'records': out, 'errors': errors, 'complete': len(eof) == PARTITIONS, 'watermarks': watermarks}
    finally:
        c.close()


def both():
    return {'read_committed': read_all('read_committed'), 'read_uncommitted': read_all('read_uncommitted')}


def commit_abort():
    p = txn_producer('rdk-basic')
    p.init_transactions(10)
    for rnd in range(4):
        commit = rnd % 2 == 0
        p.begin_transaction()
        for part in range(PARTITIONS):
            for i in range(3):
                produce(p, part, 'k-%d-%d-%d' % (rnd, part, i), '%s-%d-%d-%d' % ('committed' if commit else 'aborted', rnd, part, i))
        # abort_transaction purges what is still queued: flush first so the aborted records reach the log.
        flush(p)
        if commit:
            p.commit_transaction(10)
        else:
            p.abort_transaction(10)
    emit(both())


def lso():
    plain = plain_producer()
    produce(plain, 0, 'before', 'before-0')
    flush(plain)
    tp = txn_producer('rdk-lso')
    tp.init_transactions(10)
    tp.begin_transaction()
    produce(tp, 0, 'txn', 'txn-0')
    flush(tp)
    for i in range(3):
        produce(plain, 0, 'after', 'after-%d' % i)
    flush(plain)
    open_view = both()
    tp.commit_transaction(10)
    # EndTxn answers before the markers land: read until read_committed sees everything, bounded.
    deadline = time.time() + 10
    while True:
        closed_view = both()
        if len(closed_view['read_committed']['records']) >= 5 or time.time() > deadline:
            break
        time.sleep(0.1)
    emit({'open': open_view, 'closed': closed_view})


def fence():
    zombie = txn_producer('rdk-fenced')
    zombie.init_transactions(10)
    zombie.begin_transaction()
    produce(zombie, 0, 'z', 'zombie-0')
    produce(zombie, 1 % PARTITIONS, 'z', 'zombie-1')
    flush(zombie)

    successor = txn_producer('rdk-fenced')
    successor.init_transactions(20)  # fences the zombie and aborts its open transaction

    send_failures, send_error, commit_error = [], None, None
    try:
        produce(zombie, 0, 'z', 'zombie-2', send_failures)
        zombie.flush(10)
    except KafkaException as e:
        send_error = err_str(e)
    try:
        zombie.commit_transaction(10)
    except KafkaException as e:
        commit_error = err_str(e)

    successor.begin_transaction()
    produce(successor, 0, 's', 'successor-0')
    produce(successor, 1 % PARTITIONS, 's', 'successor-1')
    successor.commit_transaction(10)
    time.sleep(0.3)
    doc = both()
    doc.update({'send_failures': send_failures, 'send_error': send_error, 'commit_error': commit_error})
    emit(doc)


def offsets():
    group = 'rdk-copier'
    member = Consumer({'bootstrap.servers': BOOTSTRAP, 'group.id': group, 'enable.auto.commit': False})
    checker = Consumer({'bootstrap.servers': BOOTSTRAP, 'group.id': group, 'enable.auto.commit': False, 'isolation.level': 'read_committed'})
    tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]

    def committed():
        # read_committed makes librdkafka ask with require_stable (and retry UNSTABLE_OFFSET_COMMIT).
        return {str(tp.partition): tp.offset for tp in checker.committed(tps, timeout=10)}

    p = txn_producer('rdk-offsets')
    try:
        p.init_transactions(10)
        observed = {'initial': committed()}
        p.begin_transaction()
        produce(p, 0, 'a', 'out-1')
        p.send_offsets_to_transaction([TopicPartition(TOPIC, 0, 5), TopicPartition(TOPIC, 1, 7)], member.consumer_group_metadata(), 10)
        p.commit_transaction(10)
        observed['after_commit'] = committed()

        p.begin_transaction()
        produce(p, 1, 'b', 'out-2')
        flush(p)
        p.send_offsets_to_transaction([TopicPartition(TOPIC, 0, 9), TopicPartition(TOPIC, 1, 11)], member.consumer_group_metadata(), 10)
        p.abort_transaction(10)
        observed['after_abort'] = committed()

        p.begin_transaction()
        p.send_offsets_to_transaction([TopicPartition(TOPIC, 1, 12)], member.consumer_group_metadata(), 10)
        p.commit_transaction(10)
        observed['after_second_commit'] = committed()
        emit(observed)
    finally:
        member.close()
        checker.close()


def timeout():
    p = txn_producer('rdk-stalled', **{'transaction.timeout.ms': 2000, 'message.timeout.ms': 2000})
    p.init_transactions(10)
    p.begin_transaction()
    produce(p, 0, 'stalled', 'stalled-0')
    flush(p)
    time.sleep(4)  # the broker's coordinator aborts at 2 s
    commit_error = None
    try:
        p.commit_transaction(10)
    except KafkaException as e:
        commit_error = err_str(e)
    plain = plain_producer()
    produce(plain, 0, 'later', 'later-0')
    flush(plain)
    doc = both()
    doc['commit_error'] = commit_error
    emit(doc)


{'commit_abort': commit_abort, 'lso': lso, 'fence': fence, 'offsets': offsets, 'timeout': timeout}[SCENARIO]()

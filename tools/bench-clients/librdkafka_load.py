"""
The librdkafka load child of tools/bench-clients: confluent-kafka (Python) over librdkafka, run with
/usr/bin/python3 (Debian's python3-confluent-kafka). The Node load child (load.ts) starts it with the
same LoadSpec JSON and relays its lines, so the orchestrator sees the same protocol as for the other
clients: {"event": "window-start"} and {"event": "window-end"} at the window's edges, then
{"result": LoadResult}. Any failure prints the error on stderr and exits 1.

Produce: produce() per record (confluent-kafka has no batch call), librdkafka's own accumulator
makes the batches (linger.ms, batch.size), and the loop keeps up to the same byte budget of records
outstanding as Fjord's send() row; delivered = produced - len(producer) (records still queued or in
flight), read at the window's edges.
Consume: a new group, subscribe(), consume(num_messages=10000) in a loop, len(value) per record.
"""
import json
import resource
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer


def emit(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def hr_micros():
    # The clock of process.hrtime (CLOCK_MONOTONIC), as the Node children report.
    return time.monotonic_ns() // 1000


def cpu_seconds():
    # The whole process: librdkafka's threads included, as process.cpuUsage() counts V8's threads.
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_value(n):
    return bytes(0x20 + ((i * 31) % 95) for i in range(n))


def produce(spec, conf):
    value = make_value(spec["valueBytes"])
    topic = spec["topic"]
    partition = 0
    p = Producer(conf)
    p.produce(topic, value=value, partition=partition)  # connect + metadata
    if p.flush(30) != 0:
        raise RuntimeError("first record not delivered")
    errors = []

    def on_error(err):
        errors.append(err)

    outstanding_max = max(1, spec["outstandingBytes"] // (len(value) + 16))
    produced = 0
    now = time.monotonic()
    start = now + spec["warmupSeconds"]
    end = start + spec["seconds"]
    opened = False
    d0 = 0
    cpu0 = 0.0
    us0 = 0
    while True:
        now = time.monotonic()
        if not opened and now >= start:
            opened = True
            d0 = produced - len(p)
            cpu0 = cpu_seconds()
            us0 = hr_micros()
            emit({"event": "window-start", "us": us0})
        if now >= end:
            break
        room = outstanding_max - len(p)
        if room <= 0:
            p.poll(0.0005)
            continue
        for _ in range(min(room, 1000)):
            try:
                p.produce(topic, value=value, partition=partition, on_delivery=None)
            except BufferError:
                break
            produced += 1
        p.poll(0)
    d1 = produced - len(p)
    cpu1 = cpu_seconds()
    us1 = hr_micros()
    emit({"event": "window-end", "us": us1})
    seconds = spec["seconds"]
    if p.flush(60) != 0:
        raise RuntimeError("records left undelivered after the window")
    records = d1 - d0
    return {
        "client": "librdkafka",
        "mode": "produce",
        "records": records,
        "bytes": records * len(value),
        "seconds": seconds,
        "recordsPerSecond": records / seconds,
        "bytesPerSecond": records * len(value) / seconds,
        "clientCpu": (cpu1 - cpu0) / seconds,
        "windowUs": [us0, us1],
    }


def consume(spec, conf):
    expected = spec["records"]
    created = time.monotonic()
    c = Consumer(conf)
    c.subscribe([spec["topic"]])
    deadline = created + spec["timeoutSeconds"]
    total = 0
    total_bytes = 0
    first_at = None
    first_count = 0
    first_bytes = 0
    cpu0 = 0.0
    us0 = 0
    try:
        while total < expected:
            if time.monotonic() > deadline:
                raise RuntimeError("consume: %d of %d records after %d s" % (total, expected, spec["timeoutSeconds"]))
            msgs = c.consume(num_messages=10000, timeout=1.0)
            if not msgs:
                continue
            n = 0
            b = 0
            for m in msgs:
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise RuntimeError("consume: %s" % err)
                v = m.value()
                b += len(v) if v is not None else 0
                n += 1
            if n == 0:
                continue
            if total == 0:
                first_at = time.monotonic()
                first_count = n
                first_bytes = b
                cpu0 = cpu_seconds()
                us0 = hr_micros()
                emit({"event": "window-start", "us": us0})
            total += n
            total_bytes += b
        last_at = time.monotonic()
        cpu1 = cpu_seconds()
        us1 = hr_micros()
        emit({"event": "window-end", "us": us1})
    finally:
        c.close()
    if total != expected:
        raise RuntimeError("consume: %d records delivered, the topic has %d" % (total, expected))
    if total_bytes != expected * spec["valueBytes"]:
        raise RuntimeError("consume: %d value bytes, expected %d" % (total_bytes, expected * spec["valueBytes"]))
    seconds = last_at - first_at
    records = total - first_count
    return {
        "client": "librdkafka",
        "mode": "consume",
        "records": records,
        "bytes": total_bytes - first_bytes,
        "seconds": seconds,
        "recordsPerSecond": records / seconds if seconds > 0 else 0,
        "bytesPerSecond": (total_bytes - first_bytes) / seconds if seconds > 0 else 0,
        "clientCpu": (cpu1 - cpu0) / seconds if seconds > 0 else float("nan"),
        "firstRecordMs": (first_at - created) * 1000,
        "totalRecords": total,
        "windowUs": [us0, us1],
    }


def main():
    spec = json.loads(sys.argv[1])
    conf = dict(spec["config"])
    if spec["mode"] == "produce":
        result = produce(spec, conf)
    elif spec["mode"] == "consume":
        result = consume(spec, conf)
    else:
        raise RuntimeError("unknown mode %s" % spec["mode"])
    emit({"result": result})


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - report any failure to the orchestrator
        sys.stderr.write("[librdkafka] %s\n" % e)
        sys.exit(1)

"""Helpers shared by the confluent-kafka scripts: deterministic record contents and the digest
both the producing and the consuming side compute, so a test can compare them."""
import hashlib
import json
import sys

FILLER = 'the quick brown fjord jumps over the lazy broker; '


def key_for(i):
    return 'key-%d' % (i % 97)


def value_for(tag, i, size):
    """A compressible value of `size` bytes, unique per (tag, i)."""
    head = '%s-%010d|' % (tag, i)
    body = (head + FILLER * (size // len(FILLER) + 2))[:size]
    return body.encode('utf-8')


def seq_of(value):
    """The record index embedded in a value_for() value."""
    return int(value.split(b'|', 1)[0].rsplit(b'-', 1)[1])


def vhash(value):
    return hashlib.sha256(value if value is not None else b'<null>').hexdigest()


class Digest:
    """Summary of an ordered (partition, offset, key, value, headers) sequence."""

    def __init__(self):
        self.h = hashlib.sha256()
        self.count = 0
        self.partitions = {}

    def add(self, partition, offset, key, value, headers=None):
        self.h.update(b'%d|%d|' % (partition, offset))
        self.h.update((key or '<null>').encode('utf-8') + b'|')
        self.h.update(bytes.fromhex(vhash(value)))
        for hk, hv in headers or []:
            self.h.update(b'h:' + hk.encode('utf-8') + b'=' + (hv or b'<null>') + b';')
        self.count += 1
        s = self.partitions.setdefault(str(partition), {
            'count': 0, 'first_offset': offset, 'last_offset': offset, 'first_key': key, 'last_key': key})
        s['count'] += 1
        s['last_offset'] = offset
        s['last_key'] = key

    def summary(self):
        return {'count': self.count, 'partitions': self.partitions, 'digest': self.h.hexdigest()}


def emit(doc):
    sys.stdout.write(json.dumps(doc) + '\n')
    sys.stdout.flush()

"""confluent-kafka AdminClient: create a topic, try to create it again, list topics.

usage: confluent_admin.py BOOTSTRAP TOPIC PARTITIONS
"""
import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from fjord_common import emit

bootstrap, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
admin = AdminClient({'bootstrap.servers': bootstrap})

result = {}
fs = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)], operation_timeout=10, request_timeout=15)
fs[topic].result(timeout=20)
result['created'] = True

try:
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)], request_timeout=15)[topic].result(timeout=20)
    result['duplicate_error'] = None
except KafkaException as e:
    result['duplicate_error'] = e.args[0].name()

md = admin.list_topics(timeout=15)
result['cluster_id'] = md.cluster_id
result['controller_id'] = md.controller_id
result['brokers'] = {str(b.id): '%s:%d' % (b.host, b.port) for b in md.brokers.values()}
result['topics'] = {
    name: {
        'partitions': sorted(p.id for p in t.partitions.values()),
        'leaders': sorted({p.leader for p in t.partitions.values()}),
        'error': t.error.name() if t.error is not None else None,
    }
    for name, t in md.topics.items()
}
one = admin.list_topics(topic=topic, timeout=15)
result['single'] = sorted(one.topics.keys())
emit(result)

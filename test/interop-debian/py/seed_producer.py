# The seed example, verbatim except that the port comes from argv[1] (or $FJORD_PORT).
import os
import sys

PORT = sys.argv[1] if len(sys.argv) > 1 else os.environ.get('FJORD_PORT', '9092')

from kafka import KafkaProducer
import json
producer = KafkaProducer(
    bootstrap_servers=['localhost:' + PORT],
    value_serializer=lambda v: json.dumps(v).encode('utf-8'),
    key_serializer=lambda k: k.encode('utf-8') if k else None
)
event = {
    'user_id': '123',
    'action': 'click',
    'timestamp': '2024-01-15T10:00:00Z'
}
future = producer.send(
    topic='user-events',
    key='user123',
    value=event
)
record_metadata = future.get(timeout=10)
print(f"Sent to partition {record_metadata.partition} at offset {record_metadata.offset}")
producer.close()

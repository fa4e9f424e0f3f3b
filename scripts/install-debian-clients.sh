#!/usr/bin/env bash
# Install the Debian-packaged Kafka clients used by test/interop-debian (kcat, kafka-python,
# confluent-kafka and the compression codecs they need). Idempotent: exits at once when present.
set -euo pipefail

if command -v kcat >/dev/null 2>&1 \
  && /usr/bin/python3 -c 'import kafka, confluent_kafka, snappy, lz4, zstandard' >/dev/null 2>&1; then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi

"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
  kcat python3-kafka python3-confluent-kafka python3-snappy python3-lz4 python3-zstandard

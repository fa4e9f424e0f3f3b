// Kafka's MessageTest.testAllMessageRoundTrips, driven by the generated tables: every request and
// response at every valid version is filled with random values, encoded, decoded and compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as generated from '../../src/protocol/generated/index.js';
import { API_DESCRIPTORS } from '../../src/protocol/generated/api-table.js';
import { STRUCT_SHAPES, type FieldShape } from '../../src/protocol/generated/shapes.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { SeededRandom } from '../../src/testing/seeded-random.js';

type Codec = (w: Writer, m: object, v: number) => void;
type Decoder = (r: Reader, v: number) => object;
const codecs = generated as unknown as Record<string, Codec | Decoder>;

const PRIMITIVE = new Set(['int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'bytes', 'bool', 'uuid', 'records']);

function present(f: FieldShape, v: number): boolean {
  return v >= f.min && v <= f.max;
}

function randomPrimitive(type: string, rnd: SeededRandom): unknown {
  switch (type) {
    case 'int8': return rnd.int(-128, 127);
    case 'int16': return rnd.int(-32768, 32767);
    case 'uint16': return rnd.int(0, 65535);
    case 'int32': return rnd.int(-2147483648, 2147483647);
    case 'uint32': return rnd.int(0, 4294967295);
    case 'int64': return BigInt.asIntN(64, (BigInt(rnd.int(0, 0xffffffff)) << 32n) | BigInt(rnd.int(0, 0xffffffff)));
    case 'float64': return rnd.next() * 1e6;
    case 'bool': return rnd.bool();
    case 'uuid': {
      const h = rnd.bytes(16).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case 'string': return rnd.pick(['', 'a', 'topic-1', 'ünïcødé ✓', 'x'.repeat(rnd.int(0, 300))]);
    case 'bytes':
    case 'records': return rnd.bytes(rnd.int(0, rnd.bool() ? 8 : 2000));
    default: throw new Error(`unknown primitive ${type}`);
  }
}

function randomValue(type: string, nullable: boolean, rnd: SeededRandom, v: number, depth: number): unknown {
  if (nullable && rnd.int(0, 4) === 0) return null;
  if (type.startsWith('[]')) {
    const elem = type.slice(2);
    const n = depth > 3 ? 0 : rnd.int(0, 3);
    return Array.from({ length: n }, () => randomValue(elem, false, rnd, v, depth + 1));
  }
  if (PRIMITIVE.has(type)) return randomPrimitive(type, rnd);
  return randomStruct(type, rnd, v, depth + 1);
}

function randomStruct(name: string, rnd: SeededRandom, v: number, depth: number): Record<string, unknown> {
  const shape = STRUCT_SHAPES[name];
  assert.ok(shape, `no shape for ${name}`);
  const m: Record<string, unknown> = {};
  for (const f of shape) {
    if (!present(f, v)) continue;
    const nullable = f.nullableMin >= 0 && v >= f.nullableMin && v <= f.nullableMax;
    m[f.name] = randomValue(f.type, nullable, rnd, v, depth);
  }
  return m;
}

/** Compare only the fields that exist at version v; absent ones must decode to their defaults. */
function assertSame(name: string, expected: unknown, actual: unknown, v: number, path: string): void {
  if (expected === null) {
    assert.equal(actual, null, path);
    return;
  }
  if (name.startsWith('[]')) {
    assert.ok(Array.isArray(expected) && Array.isArray(actual), `${path}: arrays`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    for (let i = 0; i < expected.length; i++) assertSame(name.slice(2), expected[i], actual[i], v, `${path}[${i}]`);
    return;
  }
  if (PRIMITIVE.has(name) || expected === null) {
    assert.deepEqual(actual, expected, path);
    return;
  }
  const shape = STRUCT_SHAPES[name]!;
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  for (const f of shape) {
    if (!present(f, v)) continue;
    assertSame(f.type, e[f.name], a[f.name], v, `${path}.${f.name}`);
  }
}

function roundTrip(name: string, v: number, seed: number): void {
  const rnd = new SeededRandom(seed);
  const msg = randomStruct(name, rnd, v, 0);
  const encode = codecs[`encode${name}`] as Codec;
  const decode = codecs[`decode${name}`] as Decoder;
  const w = new Writer();
  encode(w, msg, v);
  const bytes = w.toBuffer();
  const r = new Reader(bytes);
  const back = decode(r, v);
  assert.ok(r.ok, `${name} v${v} seed ${seed}: decode failed: ${r.error}`);
  assert.equal(r.remaining(), 0, `${name} v${v} seed ${seed}: trailing bytes`);
  assertSame(name, msg, back, v, `${name} v${v} seed ${seed}`);
  // Encoding what we decoded gives the same bytes.
  const w2 = new Writer();
  encode(w2, back, v);
  assert.deepEqual(w2.toBuffer(), bytes, `${name} v${v} seed ${seed}: re-encode`);
}

test('every request and response round-trips at every valid version', () => {
  let cases = 0;
  for (const api of API_DESCRIPTORS) {
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      for (const kind of ['Request', 'Response']) {
        const name = `${api.name}${kind}`;
        for (let seed = 1; seed <= 4; seed++) {
          roundTrip(name, v, api.apiKey * 1000 + v * 10 + seed);
          cases++;
        }
      }
    }
  }
  assert.ok(cases > 1000, `only ${cases} cases`);
});

test('headers and internal records round-trip at every version', () => {
  const others: Array<[string, number, number]> = [
    ['RequestHeader', 0, 2], ['ResponseHeader', 0, 1],
    ['OffsetCommitKey', 0, 1], ['OffsetCommitValue', 0, 4],
    ['GroupMetadataKey', 2, 2], ['GroupMetadataValue', 0, 4],
    ['TransactionLogKey', 0, 0], ['TransactionLogValue', 0, 1],
    ['ConsumerProtocolSubscription', 0, 3], ['ConsumerProtocolAssignment', 0, 3],
  ];
  for (const [name, min, max] of others) {
    for (let v = min; v <= max; v++) for (let seed = 1; seed <= 4; seed++) roundTrip(name, v, seed);
  }
});

test('fields absent at a version decode to their defaults', () => {
  // Fetch v3 has no isolation level (added in v4): the default is 0; ReplicaId defaults to -1.
  const w = new Writer();
  generated.encodeFetchRequest(w, { maxWaitMs: 500, minBytes: 1, maxBytes: 100, isolationLevel: 1, topics: [] }, 3);
  const m = generated.decodeFetchRequest(new Reader(w.toBuffer()), 3);
  assert.equal(m.isolationLevel, 0);
  assert.equal(m.maxBytes, 100);
  assert.equal(m.sessionEpoch, -1);
});

test('a golden ApiVersions v3 request as librdkafka sends it decodes', () => {
  // Header v2 (flexible): api key 18, version 3, correlation id 1, client id "rdkafka", no tags;
  // body: compact strings "librdkafka" and "2.0.2", no tags.
  const bytes = Buffer.from('0012000300000001000772646b61666b61000b6c696272646b61666b6106322e302e3200', 'hex');
  const r = new Reader(bytes);
  const h = generated.decodeRequestHeader(r, 2);
  assert.deepEqual([h.requestApiKey, h.requestApiVersion, h.correlationId, h.clientId], [18, 3, 1, 'rdkafka']);
  const body = generated.decodeApiVersionsRequest(r, 3);
  assert.ok(r.ok);
  assert.equal(body.clientSoftwareName, 'librdkafka');
  assert.equal(body.clientSoftwareVersion, '2.0.2');
  assert.equal(r.remaining(), 0);
});

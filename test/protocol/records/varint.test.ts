import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VarintCursor, sizeOfVarint, writeVarint } from '../../../src/protocol/records/varint.js';

test('zigzag varints round-trip across the int32 range with the expected byte encodings', () => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [300, 'd804'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ];
  for (const [value, hex] of cases) {
    const buf = Buffer.alloc(10);
    const end = writeVarint(buf, 0, value);
    assert.equal(buf.subarray(0, end).toString('hex'), hex, `encode ${value}`);
    assert.equal(sizeOfVarint(value), end);
    const cursor = new VarintCursor(buf, 0, end);
    assert.equal(cursor.readVarint(), value, `decode ${value}`);
    assert.equal(cursor.pos, end);
  }
});

test('varlongs round-trip safe integers such as millisecond timestamps', () => {
  const values = [0, -1, 1_700_000_000_000, -1_700_000_000_000, 2 ** 52, -(2 ** 52) - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
  for (const value of values) {
    const buf = Buffer.alloc(10);
    const end = writeVarint(buf, 0, value);
    assert.equal(sizeOfVarint(value), end);
    const cursor = new VarintCursor(buf, 0, end);
    assert.equal(cursor.readVarlong(), value);
    assert.equal(cursor.pos, end);
  }
  // -MAX_SAFE_INTEGER zigzags to 2^54 - 3: 8 bytes of 7 bits each.
  const buf = Buffer.alloc(10);
  assert.equal(buf.subarray(0, writeVarint(buf, 0, -Number.MAX_SAFE_INTEGER)).toString('hex'), 'fdffffffffffff1f');
  assert.equal(buf.subarray(0, writeVarint(buf, 0, -1_700_000_000_000)).toString('hex'), 'ff9fabfef962');
});

test('malformed varints are rejected', () => {
  assert.throws(() => new VarintCursor(Buffer.from('ffffffffff01', 'hex'), 0, 6).readVarint(), /longer than 5/);
  assert.throws(() => new VarintCursor(Buffer.from('8080', 'hex'), 0, 2).readVarint(), /past the end/);
  assert.throws(() => new VarintCursor(Buffer.from('ffffffffffffffffffff01', 'hex'), 0, 11).readVarlong(), /longer than 10/);
  assert.throws(() => new VarintCursor(Buffer.from('0a6869', 'hex'), 0, 3).readNullableBytes(), /past the end/);
});

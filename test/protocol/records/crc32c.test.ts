import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from '../../../src/protocol/records/crc32c.js';

/** Bit-at-a-time CRC-32C straight from the definition, as an independent reference. */
function referenceCrc32c(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

test('crc32c matches the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789', 'ascii')), 0xe3069283);
  assert.equal(referenceCrc32c(Buffer.from('123456789', 'ascii')), 0xe3069283);
});

test('crc32c is unsigned and agrees with the bitwise reference', () => {
  let seed = 1;
  for (let len = 0; len < 300; len += 7) {
    const buf = Buffer.alloc(len);
    for (let i = 0; i < len; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      buf[i] = seed >>> 24;
    }
    const value = crc32c(buf);
    assert.ok(value >= 0 && value <= 0xffffffff);
    assert.equal(value, referenceCrc32c(buf), `length ${len}`);
  }
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

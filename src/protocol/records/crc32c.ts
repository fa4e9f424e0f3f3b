import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC-32C (Castagnoli) as used by magic-2 record batches, returned unsigned.
 *
 * Native on purpose: every produced byte is checksummed on the broker's hot
 * path, and the native implementation uses the SSE4.2/ARMv8 CRC instructions
 * (several GB/s) where a table-driven pure-JS loop manages a few hundred MB/s,
 * which would make CRC verification dominate produce CPU time.
 */
export function crc32c(buf: Uint8Array): number {
  return nativeCrc32c(buf) >>> 0;
}

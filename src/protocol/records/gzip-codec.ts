import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { DecompressionLimitError } from './decompression-limit-error.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export function gzipCompress(data: Buffer): Promise<Buffer> {
  return gzipAsync(data);
}

/**
 * zlib enforces maxOutputLength while inflating chunk by chunk and aborts as
 * soon as it is crossed, so a bomb never materialises beyond the budget.
 */
export async function gzipDecompress(data: Buffer, maxBytes: number): Promise<Buffer> {
  try {
    // maxOutputLength must be >= 1; a zero budget is enforced by the check below.
    const out = await gunzipAsync(data, { maxOutputLength: Math.max(1, maxBytes) });
    if (out.length > maxBytes) throw new DecompressionLimitError(maxBytes, `gzip data produced ${out.length} bytes`);
    return out;
  } catch (err) {
    if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DecompressionLimitError(maxBytes, 'gzip data inflates past the limit');
    }
    throw err;
  }
}

/** Thrown when decompressed output would exceed the caller's byte budget. */
export class DecompressionLimitError extends Error {
  readonly code = 'DECOMPRESSION_LIMIT' as const;

  constructor(
    readonly limit: number,
    detail: string,
  ) {
    super(`decompressed size exceeds limit of ${limit} bytes: ${detail}`);
    this.name = 'DecompressionLimitError';
  }
}

/**
 * The input type of a generated encoder: every field optional at every depth. Absent fields are
 * written as their schema defaults, so a handler names only the fields it means to set.
 */
export type Encodable<T> = T extends Buffer
  ? T
  : T extends bigint | number | string | boolean | null
    ? T
    : T extends ReadonlyArray<infer E>
      ? ReadonlyArray<Encodable<E>>
      : { [K in keyof T]?: Encodable<T[K]> | undefined };

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

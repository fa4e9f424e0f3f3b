/** Turns a typed key or value into bytes (null stays null: a null key, or a tombstone). */
export type Serializer<T> = (value: T, topic: string) => Buffer | null;
export type Deserializer<T> = (bytes: Buffer | null, topic: string) => T;

export const serializers = {
  bytes: ((v: Buffer | null) => v) as Serializer<Buffer | null>,
  string: ((v: string | null) => (v === null ? null : Buffer.from(v, 'utf8'))) as Serializer<string | null>,
  json: ((v: unknown) => (v === null || v === undefined ? null : Buffer.from(JSON.stringify(v), 'utf8'))) as Serializer<unknown>,
};

export const deserializers = {
  bytes: ((b: Buffer | null) => b) as Deserializer<Buffer | null>,
  string: ((b: Buffer | null) => (b === null ? null : b.toString('utf8'))) as Deserializer<string | null>,
  json: ((b: Buffer | null) => (b === null ? null : (JSON.parse(b.toString('utf8')) as unknown))) as Deserializer<unknown>,
};

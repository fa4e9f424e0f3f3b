import type { ConsumerRecord } from '../client/consumer/index.js';
import { UsageError } from './common.js';

export type CliRecord = ConsumerRecord<Buffer | null, Buffer | null>;

/** Turns a record into the bytes printed for it. Buffers, not strings: values are printed byte for byte. */
export type RecordFormatter = (r: CliRecord) => Buffer;

const NEWLINE = Buffer.from('\n');
const TAB = Buffer.from('\t');
/** kafka-console-consumer prints a null key or value as the word null. */
const NULL = Buffer.from('null');
const EMPTY = Buffer.alloc(0);

/** The default: the value alone, one a line (kafka-console-consumer). */
export const valueOnly: RecordFormatter = (r) => Buffer.concat([r.value ?? NULL, NEWLINE]);

/** kafka-console-consumer's print.key=true with its default key.separator (a tab). */
export const keyAndValue: RecordFormatter = (r) => Buffer.concat([r.key ?? NULL, TAB, r.value ?? NULL, NEWLINE]);

type Part = Buffer | ((r: CliRecord) => Buffer);

const ascii = (s: string | number | bigint): Buffer => Buffer.from(String(s));

/** A header list as k=v,k2=v2 (a null header value prints as nothing after the '='). */
function headersOf(r: CliRecord): Buffer {
  const out: Buffer[] = [];
  r.headers.forEach(([k, v], i) => {
    if (i > 0) out.push(Buffer.from(','));
    out.push(Buffer.from(`${k}=`), v ?? EMPTY);
  });
  return Buffer.concat(out);
}

const FIELDS: Record<string, (r: CliRecord) => Buffer> = {
  k: (r) => r.key ?? EMPTY,
  v: (r) => r.value ?? EMPTY,
  K: (r) => ascii(r.key === null ? -1 : r.key.length),
  S: (r) => ascii(r.value === null ? -1 : r.value.length),
  h: headersOf,
  o: (r) => ascii(r.offset),
  p: (r) => ascii(r.partition),
  t: (r) => ascii(r.timestamp),
  T: (r) => ascii(r.topic),
};

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };

/**
 * Compile a kcat-style output template: %k key, %v value, %h headers (k=v,k2=v2), %o offset,
 * %p partition, %t timestamp (ms), %T topic, %K / %S key / value length (-1 for null), %% a percent
 * sign; \n \t \r \\ escapes. As in kcat, nothing is added at the end (write the \n yourself) and a
 * null key or value prints as nothing. An unknown % or \ sequence is a usage error, so a typo does not
 * silently print garbage for every record.
 */
export function compileFormat(template: string): RecordFormatter {
  const parts: Part[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') parts.push(Buffer.from(literal));
    literal = '';
  };
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '%' && c !== '\\') {
      literal += c;
      continue;
    }
    const next = template[i + 1];
    i++;
    if (c === '\\') {
      const e = next === undefined ? undefined : ESCAPES[next];
      if (e === undefined) throw new UsageError(`--format: unsupported escape \\${next ?? ''} (use \\n, \\t, \\r or \\\\)`);
      literal += e;
    } else if (next === '%') {
      literal += '%';
    } else {
      const f = next === undefined ? undefined : FIELDS[next];
      if (f === undefined) throw new UsageError(`--format: unsupported field %${next ?? ''} (use %k %v %h %o %p %t %T %K %S %%)`);
      flush();
      parts.push(f);
    }
  }
  flush();
  return (r) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : p(r))));
}

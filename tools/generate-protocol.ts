/**
 * Generates Fjord's wire codec from Apache Kafka's JSON message definitions.
 *
 *   npm run generate            (reads ../shared/reference, writes src/protocol/generated/)
 *   npm run generate -- --check (exit 1 when the committed output differs)
 *
 * One definition covers every version: the version is an argument of each encode/decode function,
 * so no per-version code is written by hand. Only names, types and version ranges are taken from the
 * definitions; their descriptive text is not copied.
 */
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = here.endsWith('tools') ? join(here, '..') : join(here, '..', '..');
const schemaDir = join(repoRoot, '..', 'shared', 'reference', 'kafka-message-schemas');
const internalDir = join(repoRoot, '..', 'shared', 'reference', 'kafka-internal-record-schemas');
const outDir = join(repoRoot, 'src', 'protocol', 'generated');
/** Internal records Fjord stores in Kafka's own layout (consumer offsets, transactions). */
const INTERNAL_SCHEMAS = [
  'group-coordinator/OffsetCommitKey.json',
  'group-coordinator/OffsetCommitValue.json',
  'group-coordinator/GroupMetadataKey.json',
  'group-coordinator/GroupMetadataValue.json',
  'transaction-coordinator/TransactionLogKey.json',
  'transaction-coordinator/TransactionLogValue.json',
];

interface RawField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  flexibleVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  fields?: RawField[];
}

interface RawSchema {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  latestVersionUnstable?: boolean;
  fields: RawField[];
  commonStructs?: Array<{ name: string; versions: string; fields: RawField[] }>;
}

interface Range {
  min: number;
  max: number;
}

function parseRange(s: string | undefined): Range | null {
  if (s === undefined || s === 'none' || s === '') return null;
  const t = s.trim();
  if (t.endsWith('+')) return { min: Number(t.slice(0, -1)), max: Infinity };
  const dash = t.indexOf('-');
  if (dash > 0) return { min: Number(t.slice(0, dash)), max: Number(t.slice(dash + 1)) };
  return { min: Number(t), max: Number(t) };
}

/** A TypeScript condition for "version v is within r", simplified against the enclosing range. */
function cond(r: Range | null, within: Range): string {
  if (r === null) return 'false';
  const parts: string[] = [];
  if (r.min > within.min) parts.push(`v >= ${r.min}`);
  if (r.max < within.max) parts.push(`v <= ${r.max}`);
  if (r.min > within.max || r.max < within.min) return 'false';
  return parts.length === 0 ? 'true' : parts.join(' && ');
}

function intersect(a: Range, b: Range): Range {
  return { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
}

function stripComments(text: string): string {
  // The definitions carry // line comments; strip them outside strings.
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[++i] ?? '';
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
      continue;
    }
    out += c;
  }
  return out;
}

const camel = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);
const PRIMITIVES = new Set([
  'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'bytes', 'bool', 'uuid', 'records',
]);

function tsType(prim: string): string {
  switch (prim) {
    case 'int64':
      return 'bigint';
    case 'string':
    case 'uuid':
      return 'string';
    case 'bytes':
    case 'records':
      return 'Buffer';
    case 'bool':
      return 'boolean';
    default:
      return 'number';
  }
}

interface Ctx {
  prefix: string;
  flexible: Range | null;
  valid: Range;
  structs: Map<string, { fields: RawField[]; versions: Range }>;
  out: string[];
  emitted: Set<string>;
  shapes: Map<string, string>;
}

function defaultValue(f: RawField, ctx: Ctx): string {
  const isArray = f.type.startsWith('[]');
  const base = isArray ? f.type.slice(2) : f.type;
  const d = f.default;
  if (d === 'null') return 'null';
  if (isArray) return '[]';
  if (!PRIMITIVES.has(base)) return `default${ctx.prefix}${base}()`;
  switch (base) {
    case 'int64':
      return d === undefined || d === '' ? '0n' : `${BigInt(String(d))}n`;
    case 'string':
      return JSON.stringify(d === undefined ? '' : String(d));
    case 'uuid':
      return 'ZERO_UUID';
    case 'bytes':
    case 'records':
      return 'EMPTY_BYTES';
    case 'bool':
      return String(d === true || d === 'true');
    default: {
      if (d === undefined || d === '') return '0';
      const n = Number(d);
      if (!Number.isFinite(n)) throw new Error(`bad default ${String(d)} on ${f.name}`);
      return String(n);
    }
  }
}

function fieldTsType(f: RawField, ctx: Ctx): string {
  const isArray = f.type.startsWith('[]');
  const base = isArray ? f.type.slice(2) : f.type;
  const elem = PRIMITIVES.has(base) ? tsType(base) : `${ctx.prefix}${base}`;
  const t = isArray ? `${elem}[]` : elem;
  return f.nullableVersions !== undefined ? `${t} | null` : t;
}

/** Collect struct definitions (inline and common) so each gets an interface and codec functions. */
function collectStructs(fields: RawField[], ctx: Ctx, versions: Range): void {
  for (const f of fields) {
    if (f.fields === undefined) continue;
    const base = f.type.startsWith('[]') ? f.type.slice(2) : f.type;
    const fr = intersect(parseRange(f.versions) ?? versions, versions);
    if (!ctx.structs.has(base)) ctx.structs.set(base, { fields: f.fields, versions: fr });
    collectStructs(f.fields, ctx, fr);
  }
}

function encodeValue(base: string, expr: string, ctx: Ctx, compact: string): string {
  switch (base) {
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'int64':
    case 'float64':
    case 'bool':
    case 'uuid':
      return `w.${base}(${expr})`;
    case 'string':
      return `w.string(${expr}, ${compact})`;
    case 'bytes':
    case 'records':
      return `w.bytes(${expr}, ${compact})`;
    default:
      return `encode${ctx.prefix}${base}(w, ${expr}, v)`;
  }
}

function decodeValue(base: string, nullable: string, ctx: Ctx, compact: string): string {
  switch (base) {
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'int64':
    case 'float64':
    case 'bool':
    case 'uuid':
      return `r.${base}()`;
    case 'string':
      return nullable === 'false' ? `r.string(${compact}, false)!` : `r.string(${compact}, ${nullable})`;
    case 'bytes':
    case 'records':
      return nullable === 'false' ? `r.bytes(${compact}, false)!` : `r.bytes(${compact}, ${nullable})`;
    default:
      return `decode${ctx.prefix}${base}(r, v)`;
  }
}

function fieldCompact(f: RawField, ctx: Ctx): string {
  // A field may opt out of compact encoding (the request header's client id).
  if (f.flexibleVersions === 'none') return 'false';
  return 'flex';
}

function emitEncodeField(f: RawField, ctx: Ctx, within: Range, lines: string[], indent: string): void {
  const isArray = f.type.startsWith('[]');
  const base = isArray ? f.type.slice(2) : f.type;
  const name = camel(f.name);
  const compact = fieldCompact(f, ctx);
  const nullableR = parseRange(f.nullableVersions);
  const def = defaultValue(f, ctx);
  // An explicit null must survive on nullable fields; `??` would turn it into the default.
  const val = nullableR !== null ? `(m.${name} === undefined ? ${def} : m.${name})` : `(m.${name} ?? ${def})`;
  if (isArray) {
    lines.push(`${indent}{`);
    lines.push(`${indent}  const a = ${val} as ${PRIMITIVES.has(base) ? tsType(base) : `Encodable<${ctx.prefix}${base}>`}[] | null;`);
    if (nullableR !== null) {
      lines.push(`${indent}  if (a === null) w.arrayLength(null, ${compact});`);
      lines.push(`${indent}  else {`);
    } else {
      lines.push(`${indent}  if (a === null) w.arrayLength(0, ${compact});`);
      lines.push(`${indent}  else {`);
    }
    lines.push(`${indent}    w.arrayLength(a.length, ${compact});`);
    lines.push(`${indent}    for (const e of a) ${encodeValue(base, 'e', ctx, compact)};`);
    lines.push(`${indent}  }`);
    lines.push(`${indent}}`);
    return;
  }
  if (!PRIMITIVES.has(base)) {
    if (nullableR !== null) {
      lines.push(`${indent}if (m.${name} === null || m.${name} === undefined) w.int8(-1);`);
      lines.push(`${indent}else { w.int8(1); ${encodeValue(base, `m.${name}`, ctx, compact)}; }`);
    } else {
      lines.push(`${indent}${encodeValue(base, `(m.${name} ?? {})`, ctx, compact)};`);
    }
    return;
  }
  if ((base === 'string' || base === 'bytes' || base === 'records') && nullableR === null && def === 'null') {
    lines.push(`${indent}${encodeValue(base, `(m.${name} ?? ${base === 'string' ? "''" : 'EMPTY_BYTES'})`, ctx, compact)};`);
    return;
  }
  lines.push(`${indent}${encodeValue(base, val, ctx, compact)};`);
  void within;
}

function emitDecodeField(f: RawField, ctx: Ctx, lines: string[], indent: string, target: string): void {
  const isArray = f.type.startsWith('[]');
  const base = isArray ? f.type.slice(2) : f.type;
  const compact = fieldCompact(f, ctx);
  const nullableR = parseRange(f.nullableVersions);
  const nullable = nullableR === null ? 'false' : cond(nullableR, ctx.valid);
  const elemType = PRIMITIVES.has(base) ? tsType(base) : `${ctx.prefix}${base}`;
  if (isArray) {
    lines.push(`${indent}{`);
    lines.push(`${indent}  const n = r.arrayLength(${compact});`);
    if (nullableR !== null) {
      lines.push(`${indent}  if (n < 0) ${target} = ${nullable === 'false' ? '[]' : `(${nullable}) ? null : []`};`);
    } else {
      lines.push(`${indent}  if (n < 0) { if (r.ok) r.fail('null array for ${f.name}'); ${target} = []; }`);
    }
    lines.push(`${indent}  else {`);
    lines.push(`${indent}    const a: ${elemType}[] = [];`);
    lines.push(`${indent}    for (let i = 0; i < n && r.ok; i++) a.push(${decodeValue(base, 'false', ctx, compact)});`);
    lines.push(`${indent}    ${target} = a;`);
    lines.push(`${indent}  }`);
    lines.push(`${indent}}`);
    return;
  }
  if (!PRIMITIVES.has(base)) {
    if (nullableR !== null) {
      lines.push(`${indent}${target} = r.int8() < 0 ? null : ${decodeValue(base, 'false', ctx, compact)};`);
    } else {
      lines.push(`${indent}${target} = ${decodeValue(base, 'false', ctx, compact)};`);
    }
    return;
  }
  lines.push(`${indent}${target} = ${decodeValue(base, nullable, ctx, compact)};`);
}

function emitStruct(name: string, fields: RawField[], ctx: Ctx, versions: Range, isTop: boolean): void {
  const full = isTop ? name : `${ctx.prefix}${name}`;
  if (ctx.emitted.has(full)) return;
  ctx.emitted.add(full);
  const out = ctx.out;
  const within = versions;
  ctx.shapes.set(full, shapeOf(fields, ctx));
  const flexCond = cond(ctx.flexible, within);

  out.push(`export interface ${full} {`);
  for (const f of fields) out.push(`  ${camel(f.name)}: ${fieldTsType(f, ctx)};`);
  out.push('}');
  out.push('');

  // Default constructor: every field at its default, used for absent fields and tagged structs.
  out.push(`export function default${full}(): ${full} {`);
  out.push('  return {');
  for (const f of fields) out.push(`    ${camel(f.name)}: ${defaultValue(f, ctx)},`);
  out.push('  };');
  out.push('}');
  out.push('');

  const regular = fields.filter((f) => f.tag === undefined);
  const tagged = fields.filter((f) => f.tag !== undefined).sort((a, b) => a.tag! - b.tag!);

  // Encoder
  const enc: string[] = [];
  enc.push(`export function encode${full}(w: Writer, m: Encodable<${full}>, v: number): void {`);
  enc.push(`  const flex = ${flexCond};`);
  enc.push('  void flex;');
  for (const f of regular) {
    const c = cond(parseRange(f.versions), within);
    if (c === 'false') continue;
    if (c === 'true') emitEncodeField(f, ctx, within, enc, '  ');
    else {
      enc.push(`  if (${c}) {`);
      emitEncodeField(f, ctx, within, enc, '    ');
      enc.push('  }');
    }
  }
  if (flexCond !== 'false') {
    enc.push('  if (flex) {');
    if (tagged.length === 0) {
      enc.push('    w.uvarint(0);');
    } else {
      enc.push('    const tagged: Array<[number, Writer]> = [];');
      for (const f of tagged) {
        const c = cond(parseRange(f.taggedVersions ?? f.versions), within);
        if (c === 'false') continue;
        const name = camel(f.name);
        const def = defaultValue(f, ctx);
        // A tagged field is only sent when it differs from its default.
        const isDefault =
          def === '[]'
            ? `(m.${name} === undefined || (Array.isArray(m.${name}) && m.${name}.length === 0))`
            : def.startsWith('default')
              ? `m.${name} === undefined`
              : `(m.${name} === undefined || m.${name} === ${def})`;
        enc.push(`    if ((${c}) && !(${isDefault})) {`);
        enc.push('      const outer = w;');
        enc.push('      {');
        enc.push('        const w = new Writer(64);');
        const fl: string[] = [];
        emitEncodeField(f, ctx, within, fl, '        ');
        enc.push(...fl);
        enc.push(`        tagged.push([${f.tag}, w]);`);
        enc.push('      }');
        enc.push('      void outer;');
        enc.push('    }');
      }
      enc.push('    w.uvarint(tagged.length);');
      enc.push('    for (const [tag, tw] of tagged) { w.uvarint(tag); w.uvarint(tw.length); w.append(tw); }');
    }
    enc.push('  }');
  }
  enc.push('}');
  out.push(...enc);
  out.push('');

  // Decoder
  const dec: string[] = [];
  dec.push(`export function decode${full}(r: Reader, v: number): ${full} {`);
  dec.push(`  const flex = ${flexCond};`);
  dec.push('  void flex;');
  dec.push(`  const m = default${full}();`);
  for (const f of regular) {
    const c = cond(parseRange(f.versions), within);
    if (c === 'false') continue;
    if (c === 'true') emitDecodeField(f, ctx, dec, '  ', `m.${camel(f.name)}`);
    else {
      dec.push(`  if (${c}) {`);
      emitDecodeField(f, ctx, dec, '    ', `m.${camel(f.name)}`);
      dec.push('  }');
    }
  }
  if (flexCond !== 'false') {
    dec.push('  if (flex && r.ok) {');
    if (tagged.length === 0) {
      dec.push('    r.skipTaggedFields();');
    } else {
      dec.push('    const count = r.uvarint();');
      dec.push('    for (let t = 0; t < count && r.ok; t++) {');
      dec.push('      const tag = r.uvarint();');
      dec.push('      const sub = r.sub(r.uvarint());');
      dec.push('      switch (tag) {');
      for (const f of tagged) {
        const c = cond(parseRange(f.taggedVersions ?? f.versions), within);
        if (c === 'false') continue;
        dec.push(`        case ${f.tag}:`);
        dec.push(`          if (${c}) {`);
        dec.push('            const outer = r;');
        dec.push('            {');
        dec.push('              const r = sub;');
        emitDecodeField(f, ctx, dec, '              ', `m.${camel(f.name)}`);
        dec.push('            }');
        dec.push('            if (!sub.ok) outer.fail(sub.error ?? "tagged field");');
        dec.push('          }');
        dec.push('          break;');
      }
      dec.push('        default:');
      dec.push('          break;');
      dec.push('      }');
      dec.push('    }');
    }
    dec.push('  }');
  }
  dec.push('  return m;');
  dec.push('}');
  out.push(...dec);
  out.push('');
}

interface Generated {
  file: string;
  schema: RawSchema;
  names: string[];
}

const allShapes = new Map<string, string>();

function generateSchema(schema: RawSchema, prefix: string): string[] {
  const valid = parseRange(schema.validVersions)!;
  const ctx: Ctx = {
    prefix,
    flexible: parseRange(schema.flexibleVersions),
    valid,
    structs: new Map(),
    out: [],
    emitted: new Set(),
    shapes: allShapes,
  };
  for (const cs of schema.commonStructs ?? []) {
    ctx.structs.set(cs.name, { fields: cs.fields, versions: intersect(parseRange(cs.versions) ?? valid, valid) });
    collectStructs(cs.fields, ctx, valid);
  }
  collectStructs(schema.fields, ctx, valid);
  // Struct codecs take the message version; conditions are simplified against the message range only,
  // because a nested struct's own range is already guaranteed by its parent field's condition.
  for (const [name, s] of ctx.structs) emitStruct(name, s.fields, ctx, valid, false);
  emitStruct(schema.name, schema.fields, ctx, valid, true);
  return ctx.out;
}

/** A compact description of a struct's fields, for the table-driven round-trip test. */
function shapeOf(fields: RawField[], ctx: Ctx): string {
  const rows = fields.map((f) => {
    const isArray = f.type.startsWith('[]');
    const base = isArray ? f.type.slice(2) : f.type;
    const t = (isArray ? '[]' : '') + (PRIMITIVES.has(base) ? base : `${ctx.prefix}${base}`);
    const r = parseRange(f.versions) ?? { min: 0, max: -1 };
    const n = parseRange(f.nullableVersions);
    const tv = parseRange(f.taggedVersions);
    const max = (x: number): string => (x === Infinity ? '99' : String(x));
    return (
      `{ name: '${camel(f.name)}', type: '${t}', min: ${r.min}, max: ${max(r.max)}, ` +
      `nullableMin: ${n === null ? -1 : n.min}, nullableMax: ${n === null ? -1 : max(n.max)}, ` +
      `tag: ${f.tag ?? -1}, taggedMin: ${tv === null ? -1 : tv.min} }`
    );
  });
  return rows.length === 0 ? '[]' : `[\n    ${rows.join(',\n    ')},\n  ]`;
}

function kebab(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

const HEADER =
  '// GENERATED by tools/generate-protocol.ts from Apache Kafka\'s message definitions. Do not edit.\n' +
  '/* eslint-disable */\n';

function main(): void {
  const check = process.argv.includes('--check');
  if (!existsSync(schemaDir)) {
    console.error(`schemas not found at ${schemaDir}`);
    process.exit(2);
  }
  const files = new Map<string, string>();
  const schemas: RawSchema[] = [];
  for (const f of readdirSync(schemaDir).sort()) {
    if (!f.endsWith('.json')) continue;
    schemas.push(JSON.parse(stripComments(readFileSync(join(schemaDir, f), 'utf8'))) as RawSchema);
  }
  for (const rel of INTERNAL_SCHEMAS) {
    const s = JSON.parse(stripComments(readFileSync(join(internalDir, rel), 'utf8'))) as RawSchema;
    s.type = 'internal';
    schemas.push(s);
  }

  const apis = new Map<number, { request?: RawSchema; response?: RawSchema }>();
  const generated: Generated[] = [];
  for (const s of schemas) {
    if ((s.type === 'request' || s.type === 'response') && s.apiKey !== undefined) {
      const e = apis.get(s.apiKey) ?? {};
      e[s.type] = s;
      apis.set(s.apiKey, e);
    }
  }
  const imports =
    "import { Reader, ZERO_UUID } from '../reader.js';\n" +
    "import { Writer } from '../writer.js';\n" +
    "import { EMPTY_BYTES, type Encodable } from '../encodable.js';\n" +
    'void ZERO_UUID; void EMPTY_BYTES;\n\n';

  for (const s of schemas) {
    if (s.type === 'request' || s.type === 'response') continue;
    const body = generateSchema(s, s.name);
    const file = `${kebab(s.name)}.ts`;
    files.set(file, HEADER + imports + body.join('\n'));
    generated.push({ file, schema: s, names: [s.name] });
  }
  for (const [, api] of [...apis].sort((a, b) => a[0] - b[0])) {
    const req = api.request!;
    const res = api.response!;
    const base = req.name.replace(/Request$/, '');
    const body = [...generateSchema(req, req.name), ...generateSchema(res, res.name)];
    const file = `${kebab(base)}.ts`;
    files.set(file, HEADER + imports + body.join('\n'));
  }

  // The API table: routing, ApiVersions and the round-trip test all read it.
  const idx: string[] = [HEADER];
  idx.push("import type { Reader } from '../reader.js';");
  idx.push("import type { Writer } from '../writer.js';");
  const entries: string[] = [];
  for (const [key, api] of [...apis].sort((a, b) => a[0] - b[0])) {
    const req = api.request!;
    const res = api.response!;
    const base = req.name.replace(/Request$/, '');
    const file = kebab(base);
    idx.push(
      `import { decode${req.name}, encode${req.name}, decode${res.name}, encode${res.name}, default${req.name}, default${res.name} } from './${file}.js';`,
    );
    const valid = parseRange(req.validVersions)!;
    const flex = parseRange(req.flexibleVersions);
    const resFlex = parseRange(res.flexibleVersions);
    entries.push(
      `  { apiKey: ${key}, name: '${base}', minVersion: ${valid.min}, maxVersion: ${valid.max}, ` +
        `latestVersionUnstable: ${req.latestVersionUnstable === true}, ` +
        `requestFlexibleMin: ${flex === null ? -1 : flex.min}, responseFlexibleMin: ${resFlex === null ? -1 : resFlex.min}, ` +
        `decodeRequest: decode${req.name}, encodeRequest: encode${req.name} as ApiDescriptor['encodeRequest'], ` +
        `decodeResponse: decode${res.name}, encodeResponse: encode${res.name} as ApiDescriptor['encodeResponse'], ` +
        `defaultRequest: default${req.name}, defaultResponse: default${res.name} },`,
    );
  }
  idx.push('');
  idx.push('export interface ApiDescriptor {');
  idx.push('  readonly apiKey: number;');
  idx.push('  readonly name: string;');
  idx.push('  readonly minVersion: number;');
  idx.push('  readonly maxVersion: number;');
  idx.push('  /** The newest version is still under development in Kafka: never advertise it. */');
  idx.push('  readonly latestVersionUnstable: boolean;');
  idx.push('  /** First flexible (tagged-field, compact) version, or -1. Decides header versions. */');
  idx.push('  readonly requestFlexibleMin: number;');
  idx.push('  readonly responseFlexibleMin: number;');
  idx.push('  readonly decodeRequest: (r: Reader, v: number) => object;');
  idx.push('  readonly encodeRequest: (w: Writer, m: object, v: number) => void;');
  idx.push('  readonly decodeResponse: (r: Reader, v: number) => object;');
  idx.push('  readonly encodeResponse: (w: Writer, m: object, v: number) => void;');
  idx.push('  readonly defaultRequest: () => object;');
  idx.push('  readonly defaultResponse: () => object;');
  idx.push('}');
  idx.push('');
  idx.push('export const API_DESCRIPTORS: readonly ApiDescriptor[] = [');
  idx.push(...entries);
  idx.push('];');
  idx.push('');
  files.set('api-table.ts', idx.join('\n'));

  const shapeLines = [HEADER];
  shapeLines.push('export interface FieldShape { readonly name: string; readonly type: string; readonly min: number; readonly max: number; readonly nullableMin: number; readonly nullableMax: number; readonly tag: number; readonly taggedMin: number }');
  shapeLines.push('/** Field layout of every generated struct (max 99 = open-ended). Used by tests and tools. */');
  shapeLines.push('export const STRUCT_SHAPES: Readonly<Record<string, readonly FieldShape[]>> = {');
  for (const [name, shape] of [...allShapes].sort((a, b) => (a[0] < b[0] ? -1 : 1))) shapeLines.push(`  ${name}: ${shape},`);
  shapeLines.push('};');
  files.set('shapes.ts', shapeLines.join('\n') + '\n');

  const exportsIdx = [HEADER];
  for (const f of [...files.keys()].sort()) exportsIdx.push(`export * from './${f.replace(/\.ts$/, '.js')}';`);
  files.set('index.ts', exportsIdx.join('\n') + '\n');

  if (check) {
    let stale = false;
    for (const [f, content] of files) {
      const p = join(outDir, f);
      if (!existsSync(p) || readFileSync(p, 'utf8') !== content) {
        console.error(`stale: ${p}`);
        stale = true;
      }
    }
    for (const f of readdirSync(outDir)) {
      if (!files.has(f)) {
        console.error(`extra: ${f}`);
        stale = true;
      }
    }
    process.exit(stale ? 1 : 0);
  }
  if (existsSync(outDir)) rmSync(outDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  for (const [f, content] of files) writeFileSync(join(outDir, f), content);
  console.log(`wrote ${files.size} files to ${outDir}`);
}

main();

// Requests for every operation of the committed OpenAPI document, as fast-check arbitraries: values
// drawn from each operation's own schemas (with real ids where a field names an object), then mutated
// (fields dropped, retyped, oversized, unknown fields added, bodies that are not JSON or not what the
// content type says), plus hostile path parameters, query strings, headers and multipart bodies.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';

type Schema = Record<string, unknown>;

export interface Operation {
  method: string;
  /** The path template, e.g. /v1/files/{file_id}. */
  path: string;
  operationId: string;
  parameters: { in: 'path' | 'query' | 'header'; name: string; required?: boolean; schema: Schema }[];
  /** The request body's media type and schema, when the operation takes one. */
  body?: { mediaType: string; schema: Schema };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, { operationId: string; parameters?: Operation['parameters']; requestBody?: { content: Record<string, { schema: Schema }> } }>>;
  components: { schemas: Record<string, Schema> };
}

/** The document as committed: routes added later are driven without touching the tests. */
export function readOpenApi(): OpenApiDocument {
  return JSON.parse(readFileSync(new URL('../../../openapi/openapi.json', import.meta.url), 'utf8'));
}

export function operations(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const [mediaType, content] = Object.entries(op.requestBody?.content ?? {})[0] ?? [];
      return {
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        parameters: op.parameters ?? [],
        body: mediaType ? { mediaType, schema: content!.schema } : undefined,
      };
    }),
  );
}

/** Real ids the fuzzer may use, by the name of the parameter or field that holds them. */
export type KnownIds = Record<string, string[]>;

/** One of the ids known for `name` when the value is drawn (the lists change as a test replaces what a request deleted). */
export function knownId(known: KnownIds, name: string): fc.Arbitrary<string> {
  return fc.nat().map((i) => known[name][i % known[name].length]);
}

/** Strings that have broken services before: traversal, encodings, control characters, sizes. */
export const HOSTILE_STRINGS = [
  '',
  ' ',
  '..',
  '../../../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '%00',
  '\u0000',
  'a\r\nx-injected: 1',
  '"; DROP TABLE files; --',
  "' OR '1'='1",
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '\ud83d\ude00\u202e\ufeff',
  '\ud800',
  'x'.repeat(10_000),
  '-1',
  '1e308',
  'NaN',
  'null',
  '[]',
  '{}',
  '__proto__',
  'constructor',
];

const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }));

/** Any JSON value, including awkward ones. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hostileString,
  fc.constantFrom(-1, 0, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER + 2, true, false, null),
  fc.constant('y'.repeat(200_000)),
);

export class SchemaArbitraries {
  constructor(
    private readonly doc: OpenApiDocument,
    private readonly known: KnownIds,
  ) {}

  private resolve(schema: Schema): Schema {
    let s = schema;
    while (typeof s.$ref === 'string') s = this.doc.components.schemas[(s.$ref as string).split('/').pop()!];
    return s;
  }

  /** A value that follows `schema` (mostly), with known ids for fields named like the objects they name. */
  value(schema: Schema, name = '', depth = 0): fc.Arbitrary<unknown> {
    const s = this.resolve(schema);
    const typed = this.typed(s, name, depth);
    return name in this.known ? fc.oneof({ weight: 3, arbitrary: knownId(this.known, name) }, { weight: 1, arbitrary: typed }) : typed;
  }

  private typed(s: Schema, name: string, depth: number): fc.Arbitrary<unknown> {
    if (depth > 5) return fc.constant(null);
    if ('const' in s) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    for (const key of ['anyOf', 'oneOf'] as const) {
      if (Array.isArray(s[key])) return fc.oneof(...(s[key] as Schema[]).map((alt) => this.value(alt, name, depth + 1)));
    }
    if (Array.isArray(s.allOf)) return this.value((s.allOf as Schema[])[0], name, depth + 1);
    const type = Array.isArray(s.type) ? fc.constantFrom(...(s.type as string[])) : fc.constant(s.type as string | undefined);
    return type.chain((t) => this.ofType(t, s, name, depth));
  }

  private ofType(type: string | undefined, s: Schema, name: string, depth: number): fc.Arbitrary<unknown> {
    switch (type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer': {
        const min = typeof s.minimum === 'number' ? Math.max(s.minimum, -1e6) : -1e6;
        const max = typeof s.maximum === 'number' ? Math.min(s.maximum, min + 1e6) : min + 1e6;
        return fc.oneof(fc.integer({ min: Math.ceil(min), max: Math.floor(Math.min(max, min + 50)) }), fc.integer({ min: Math.ceil(min), max: Math.floor(max) }));
      }
      case 'number': {
        const min = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : -1e6;
        const max = typeof s.maximum === 'number' ? s.maximum : typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum : min + 1e6;
        return fc.double({ min, max, minExcluded: typeof s.exclusiveMinimum === 'number', maxExcluded: typeof s.exclusiveMaximum === 'number', noNaN: true, noDefaultInfinity: true });
      }
      case 'string': {
        const maxLength = Math.min(typeof s.maxLength === 'number' ? s.maxLength : 30, 30);
        const minLength = Math.min(typeof s.minLength === 'number' ? s.minLength : 0, maxLength);
        return fc.string({ minLength, maxLength });
      }
      case 'array': {
        const items = (s.items as Schema | undefined) ?? {};
        const minLength = Math.min(typeof s.minItems === 'number' ? s.minItems : 0, 3);
        return fc.array(this.value(items, name, depth + 1), { minLength, maxLength: Math.max(minLength, 3) });
      }
      case 'object':
      case undefined: {
        const properties = (s.properties as Record<string, Schema> | undefined) ?? {};
        const required = new Set((s.required as string[] | undefined) ?? []);
        const keys = Object.keys(properties);
        if (keys.length === 0) {
          if (s.additionalProperties && typeof s.additionalProperties === 'object') {
            const digits = (s.propertyNames as Schema | undefined)?.pattern === '^\\d+$';
            return fc.dictionary(digits ? fc.nat(1000).map(String) : fc.string({ maxLength: 10 }), this.value(s.additionalProperties as Schema, '', depth + 1), { maxKeys: 3 });
          }
          return type === 'object' ? fc.constant({}) : anyJson;
        }
        // Every required field and a few optional ones: a body with all of them would nearly always
        // trip over one, and the deeper paths behind a valid body would go untested.
        const optional = keys.filter((k) => !required.has(k));
        return fc.subarray(optional, { maxLength: optional.length <= 6 ? optional.length : 3 }).chain((chosen) => {
          const record: Record<string, fc.Arbitrary<unknown>> = {};
          for (const key of [...required, ...chosen]) if (properties[key]) record[key] = this.value(properties[key], key, depth + 1);
          return fc.record(record);
        });
      }
      default:
        return anyJson;
    }
  }
}

/** A change to a JSON body: at a path chosen by index among the value's paths. */
type Mutation = { kind: 'drop' | 'replace' | 'extra'; at: number; value: unknown; key: string } | { kind: 'wrap' };

export const mutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constantFrom('drop' as const, 'replace' as const, 'extra' as const), at: fc.nat(), value: anyJson, key: fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype')) }),
    fc.constant({ kind: 'wrap' as const }),
  ),
  { maxLength: 3 },
);

function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Array.isArray(value) ? value.map((v, i) => paths(v, [...prefix, i])) : Object.entries(value).map(([k, v]) => paths(v, [...prefix, k]));
  return [prefix, ...children.flat()];
}

export function mutate(value: unknown, changes: Mutation[]): unknown {
  let out: unknown = structuredClone(value);
  for (const change of changes) {
    if (change.kind === 'wrap') {
      out = [out];
      continue;
    }
    const all = paths(out);
    const path = all[change.at % all.length];
    if (path.length === 0) {
      if (change.kind === 'replace') out = change.value;
      continue;
    }
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], out) as Record<string | number, unknown>;
    const last = path[path.length - 1];
    if (change.kind === 'drop') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (change.kind === 'replace') parent[last] = change.value;
    else if (typeof parent[last] === 'object' && parent[last] !== null && !Array.isArray(parent[last])) {
      Object.defineProperty(parent[last], change.key, { value: change.value, enumerable: true, configurable: true, writable: true });
    }
  }
  return out;
}

/** Bodies that are not what they claim to be. */
export const rawBodies: fc.Arbitrary<string | Uint8Array> = fc.constantFrom<string | Uint8Array>(
  '',
  '{',
  '{"a":',
  'null',
  '[]',
  '"string"',
  '1e999999',
  '\u0000\u0001\u0002',
  '[' .repeat(100_000) + ']'.repeat(100_000),
  '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000),
  `{"model":"${'m'.repeat(1_000_000)}"}`,
  '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
  'model=glm-tiny&x=1',
  new Uint8Array([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), // {"m\xff\xfe":1}: not UTF-8
);

/** Content types a client may send, right or wrong. */
export const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=nope',
  'application/octet-stream',
  'application/xml',
  '*/*',
  'garbage',
);

/** A multipart part: the fields a file upload takes, with hostile names and contents. */
export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Uint8Array;
}

const partName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('file', 'purpose') }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom('files', 'FILE', 'file[]', '', 'purpose ', 'x'.repeat(300)), fc.string({ maxLength: 10 })) });
const filename = fc.oneof(
  fc.constantFrom('train.jsonl', '../../../../etc/passwd', '..\\..\\windows\\win.ini', '/abs/path.jsonl', 'a"b\r\nX-Evil: 1.jsonl', '\u0000.jsonl', '名前.jsonl', '.', '..', 'x'.repeat(5000)),
  fc.string({ maxLength: 30 }),
);
const partData = fc.oneof(
  fc.constantFrom(
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n',
    'fine-tune',
    'fine-tune-results',
    'assistants',
    '',
    '\u0000\u0000',
    '{"prompt":"a","completion":"b"}\n{"prompt":',
  ).map((s) => new TextEncoder().encode(s)),
  fc.uint8Array({ maxLength: 200 }),
);

export const parts: fc.Arbitrary<Part[]> = fc.array(
  fc.record({ name: partName, filename: fc.option(filename, { nil: undefined }), contentType: fc.option(fc.constantFrom('application/jsonl', 'text/plain', 'application/octet-stream', 'image/png'), { nil: undefined }), data: partData }),
  { maxLength: 5 },
);

/** Encodes parts as multipart/form-data, sometimes broken: a wrong boundary, no closing delimiter. */
export function multipartBody(list: Part[], breakage: 'none' | 'no-end' | 'wrong-boundary' | 'no-disposition'): { body: Uint8Array; contentType: string } {
  const boundary = 'fuzzBoundary0123';
  const chunks: Uint8Array[] = [];
  const text = (s: string) => chunks.push(new TextEncoder().encode(s));
  for (const part of list) {
    text(`--${breakage === 'wrong-boundary' ? 'other' : boundary}\r\n`);
    if (breakage !== 'no-disposition') text(`Content-Disposition: form-data; name="${part.name.replace(/["\r\n]/g, '')}"${part.filename === undefined ? '' : `; filename="${part.filename.replace(/["\r\n]/g, '_')}"`}\r\n`);
    if (part.contentType) text(`Content-Type: ${part.contentType}\r\n`);
    text('\r\n');
    chunks.push(part.data);
    text('\r\n');
  }
  if (breakage !== 'no-end') text(`--${boundary}--\r\n`);
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

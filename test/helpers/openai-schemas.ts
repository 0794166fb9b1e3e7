// Validates our responses against OpenAI's own published OpenAPI document (test/fixtures/openai-openapi),
// converted to JSON Schema 2020-12 as its README describes.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';

type Node = Record<string, unknown>;

/**
 * Fields the live API sends as null although the document types them strictly (the fixture README).
 * A path steps into properties with `.` and into array items with `[]`.
 */
const LIVE_NULLABLE: Record<string, string[]> = {
  OpenAIFile: ['status_details'],
  ListFilesResponse: ['first_id', 'last_id'],
  ListFineTuningJobEventsResponse: [],
  // Streamed completions (chunks share the response's shape) have no finish_reason until the last one;
  // an echoed prompt's first token has no logprob.
  CreateCompletionResponse: ['choices[].finish_reason', 'choices[].logprobs.token_logprobs[]', 'choices[].logprobs.top_logprobs[]'],
};

/** Makes the field at `path` (see LIVE_NULLABLE) nullable in place. */
function allowNullAt(schema: Node, path: string): void {
  const steps = path.split('.').flatMap((step) => (step.endsWith('[]') ? [step.slice(0, -2), '[]'] : [step]));
  let parent: Node = schema;
  for (const [i, step] of steps.entries()) {
    const objectBranch = (parent.anyOf as Node[] | undefined)?.find((b) => b.type !== 'null') ?? parent;
    const container = step === '[]' ? objectBranch : (objectBranch.properties as Record<string, Node>);
    const key = step === '[]' ? 'items' : step;
    const child = (container as Record<string, Node>)[key];
    if (!child) throw new Error(`LIVE_NULLABLE: no ${path} in the schema`);
    if (i === steps.length - 1) (container as Record<string, Node>)[key] = allowNull(child);
    else parent = child;
  }
}

function convert(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convert);
  if (!node || typeof node !== 'object') return node;
  const out: Node = {};
  for (const [k, v] of Object.entries(node as Node)) out[k] = convert(v);
  for (const bound of ['Minimum', 'Maximum'] as const) {
    const flag = `exclusive${bound}`;
    const limit = bound.toLowerCase();
    if (typeof out[flag] === 'boolean') {
      if (out[flag] === true && typeof out[limit] === 'number') {
        out[flag] = out[limit];
        delete out[limit];
      } else delete out[flag];
    }
  }
  if (out.nullable === true) {
    delete out.nullable;
    return allowNull(out);
  }
  delete out.nullable;
  return out;
}

function allowNull(schema: Node): Node {
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema = { ...schema, enum: [...schema.enum, null] };
  if (typeof schema.type === 'string') return { ...schema, type: [schema.type, 'null'] };
  if (Array.isArray(schema.type)) return { ...schema, type: [...schema.type, 'null'] };
  return { anyOf: [schema, { type: 'null' }] };
}

let ajv: Ajv2020 | undefined;

function compiler(): Ajv2020 {
  if (ajv) return ajv;
  const doc = JSON.parse(readFileSync(new URL('../fixtures/openai-openapi/openapi.json', import.meta.url), 'utf8'));
  const schemas = convert(doc.components.schemas) as Record<string, Node>;
  for (const [name, fields] of Object.entries(LIVE_NULLABLE)) for (const f of fields) allowNullAt(schemas[name], f);
  ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: 'openai.json', components: { schemas } });
  return ajv;
}

/** Throws with ajv's errors when `value` does not validate against OpenAI's component schema `name`. */
export function assertOpenAISchema(name: string, value: unknown): void {
  const validate = compiler().getSchema(`openai.json#/components/schemas/${name}`);
  if (!validate) throw new Error(`OpenAI's document has no schema ${name}`);
  if (!validate(value)) {
    throw new Error(`${name} mismatch: ${JSON.stringify(validate.errors, null, 1).slice(0, 2000)}\nvalue: ${JSON.stringify(value).slice(0, 1000)}`);
  }
}

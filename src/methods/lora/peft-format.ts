// PEFT's LoRA adapter folder, as `PeftModel.save_pretrained` writes it and `PeftModel.from_pretrained`
// reads it on THUDM's model: adapter_config.json, and adapter_model.safetensors with keys
// `base_model.model.<THUDM module>.lora_A.weight` [r, in] and `.lora_B.weight` [out, r].
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelFormatError } from '../../model/errors.ts';
import { fileWeights, type WeightSource } from '../../model/weights/checkpoint.ts';
import { writeSafetensors } from '../../model/weights/safetensors.ts';
import type { LoraShape } from './config.ts';
import type { LoraLayer } from './layer.ts';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** The PEFT key of a site's lora_A or lora_B (PEFT drops the adapter name `default` when saving). */
export function peftKey(site: string, matrix: 'lora_A' | 'lora_B'): string {
  return `base_model.model.${site}.${matrix}.weight`;
}

/** adapter_config.json's fields, in PEFT's order, for an adapter of `settings` trained on `baseModel`. */
function adapterConfigJson(settings: LoraShape, baseModel: string | null): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: settings.r,
    lora_alpha: settings.alpha,
    lora_dropout: settings.dropout,
    target_modules: [...settings.target_modules],
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true, // PEFT sets it when saving, whatever the mode in training
    init_lora_weights: true,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    use_rslora: false,
    use_dora: false,
    revision: null,
  };
}

export function writeAdapter(dir: string, layers: readonly LoraLayer[], settings: LoraShape, baseModel: string | null): void {
  mkdirSync(dir, { recursive: true });
  const tensors = layers.flatMap((layer) =>
    (['lora_A', 'lora_B'] as const).map((matrix) => {
      const v = layer[matrix];
      return { name: peftKey(layer.site, matrix), shape: [...v.shape], data: () => v.dataSync() as Float32Array };
    }),
  );
  writeSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), tensors);
  writeFileSync(join(dir, ADAPTER_CONFIG_FILE), `${JSON.stringify(adapterConfigJson(settings, baseModel), null, 2)}\n`);
}

const emptyPattern = z.record(z.string(), z.unknown()).refine((p) => Object.keys(p).length === 0, 'per-module patterns are not supported');
// PEFT variants this runtime does not compute are refused rather than silently computed as plain LoRA.
const adapterConfigSchema = z.looseObject({
  peft_type: z.literal('LORA', { error: 'peft_type must be "LORA"' }),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  lora_dropout: z.number().min(0).lt(1).default(0),
  target_modules: z.array(z.string(), { error: 'target_modules must be a list of module names (a regular expression is not supported)' }).min(1),
  bias: z.literal('none', { error: 'bias must be "none" (trained biases are not supported)' }).default('none'),
  fan_in_fan_out: z.literal(false, { error: 'fan_in_fan_out must be false (THUDM linears are not Conv1D)' }).default(false),
  use_rslora: z.literal(false, { error: 'use_rslora is not supported' }).default(false),
  use_dora: z.literal(false, { error: 'use_dora is not supported' }).default(false),
  modules_to_save: z.null({ error: 'modules_to_save is not supported' }).default(null),
  layers_to_transform: z.null({ error: 'layers_to_transform is not supported' }).default(null),
  rank_pattern: emptyPattern.default({}),
  alpha_pattern: emptyPattern.default({}),
});

/** Reads and checks an adapter folder's config and opens its weights. */
export function readAdapter(dir: string): { settings: LoraShape; weights: WeightSource } {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(configPath)) throw new ModelFormatError(`${dir}: no ${ADAPTER_CONFIG_FILE}`);
  if (!existsSync(weightsPath)) throw new ModelFormatError(`${dir}: no ${ADAPTER_WEIGHTS_FILE}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new ModelFormatError(`${configPath}: ${(err as Error).message}`);
  }
  const parsed = adapterConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ModelFormatError(`${configPath}: ${issues.join('; ')}`);
  }
  const c = parsed.data;
  return { settings: { r: c.r, alpha: c.lora_alpha, dropout: c.lora_dropout, target_modules: c.target_modules }, weights: fileWeights(weightsPath) };
}

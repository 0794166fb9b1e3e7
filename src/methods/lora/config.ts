// LoRA's settings (Hu et al. 2021, as PEFT's LoraConfig names them in adapter_config.json: r, lora_alpha,
// lora_dropout, target_modules). Defaults are THUDM's ChatGLM3 finetune_demo lora.yaml.
import { z } from 'zod';

/** THUDM module names LoRA can target; PEFT matches them as name suffixes of the model's linear sites. */
export const LORA_TARGET_MODULES = ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h'] as const;

/** The LoRA fields, shared by `lora` and `qlora` configs. */
export const loraSettings = {
  /** Rank of lora_A [r, in] and lora_B [out, r]. */
  r: z.number().int().positive().default(8),
  /** scaling = alpha / r multiplies the adapter's output. */
  alpha: z.number().positive().default(32),
  /** Dropout on the adapter's input (training only). */
  dropout: z.number().min(0).lt(1).default(0.1),
  target_modules: z
    .array(z.enum(LORA_TARGET_MODULES, { error: (issue) => `unknown target module ${JSON.stringify(issue.input)} (LoRA targets ${LORA_TARGET_MODULES.join(', ')})` }))
    .min(1)
    .refine((m) => new Set(m).size === m.length, 'target_modules must not repeat a module')
    .default(['query_key_value']),
};

export const loraConfigSchema = z.strictObject({ type: z.literal('lora'), ...loraSettings });
export type LoraConfig = z.infer<typeof loraConfigSchema>;

/** The settings a LoRA layer set is built from (a `lora` or `qlora` config, or a loaded adapter_config.json). */
export interface LoraShape {
  r: number;
  alpha: number;
  dropout: number;
  target_modules: readonly string[];
}

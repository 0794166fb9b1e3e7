// A job's method config: one zod discriminated union on `type`, validated once where the job is created
// (the API) and again where the method is built (createMethod, which also checks it against the model).
import { z } from 'zod';
import { loraConfigSchema } from './lora/config.ts';
import { qloraConfigSchema } from './qlora/config.ts';
import { ptuningConfigSchema } from './ptuning/config.ts';

/** Every base parameter trains. */
const fullConfigSchema = z.strictObject({ type: z.literal('full') });

/** Only the last `layers` transformer layers train (LLaMA-Factory's freeze tuning). */
const freezeConfigSchema = z.strictObject({
  type: z.literal('freeze'),
  layers: z.number().int().positive().default(2),
  /** Also train output_layer and final_layernorm (the norm scales exactly what the output layer reads). */
  also_output_layer: z.boolean().default(false),
});

export const methodConfigSchema = z.discriminatedUnion('type', [
  fullConfigSchema,
  freezeConfigSchema,
  loraConfigSchema,
  qloraConfigSchema,
  ptuningConfigSchema,
]);

export type FreezeConfig = z.infer<typeof freezeConfigSchema>;
/** A parsed config (defaults filled in). Parse user input with methodConfigSchema.parse. */
export type MethodConfig = z.infer<typeof methodConfigSchema>;
/** What a caller may write before parsing (defaults optional). */
export type MethodConfigInput = z.input<typeof methodConfigSchema>;

// P-tuning v2 (Liu et al. 2022) as THUDM's ChatGLM2/3 implement it: learned prefix keys/values for every
// layer, from a PrefixEncoder. Defaults: THUDM's ChatGLM3 finetune_demo ptuning_v2.yaml (128 virtual
// tokens) and modeling_chatglm.py (Dropout(0.1) on the prefix).
import { z } from 'zod';

export const ptuningConfigSchema = z.strictObject({
  type: z.literal('ptuning_v2'),
  /** Number of prefix slots P. */
  pre_seq_len: z.number().int().positive().default(128),
  /** Encode the prefix with a two-layer MLP (embedding → Linear → tanh → Linear) instead of the embedding alone. */
  prefix_projection: z.boolean().default(false),
  /** Width of that MLP; THUDM's code uses the model's hidden_size (the default), and only loads that width. */
  prefix_hidden_size: z.number().int().positive().optional(),
  /** Dropout on the prefix keys/values in training. */
  prefix_dropout: z.number().min(0).lt(1).default(0.1),
});
export type PtuningConfig = z.infer<typeof ptuningConfigSchema>;

// QLoRA (Dettmers et al. 2023): LoRA on a frozen base whose linear weights are kept quantized.
import { z } from 'zod';
import { loraSettings } from '../lora/config.ts';

export const qloraConfigSchema = z.strictObject({
  type: z.literal('qlora'),
  ...loraSettings,
  /** 4: NF4 with a float32 absmax per 64 weights (4.5 bits/weight); 8: int8 with an absmax per row. */
  quantization_bits: z.union([z.literal(4), z.literal(8)]).default(4),
  /** NF4 only: quantize the absmax values too (≈4.127 bits/weight), as bitsandbytes' compress_statistics. */
  double_quant: z.boolean().default(false),
});
export type QloraConfig = z.infer<typeof qloraConfigSchema>;

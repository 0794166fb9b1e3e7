// QLoRA as a tuning method: LoRA (../lora/model.ts) over a base whose linear weights are quantized. The
// model is changed for good: its linear weights stay quantized after the method is disposed.
import type { CausalLanguageModel } from '../../model/language-model.ts';
import { LoraModel } from '../lora/model.ts';
import type { QloraConfig } from './config.ts';
import { quantizeLinearWeights } from './quantize.ts';

export function createQlora(model: CausalLanguageModel, config: QloraConfig, seed: number, initFrom?: string): LoraModel {
  // adapters first: a config or adapter that does not fit fails before the model is changed
  const layers = LoraModel.layersFor(model, config, seed, initFrom);
  const packed = quantizeLinearWeights(model, { bits: config.quantization_bits, doubleQuant: config.double_quant });
  return new LoraModel('qlora', model, config, layers, packed);
}

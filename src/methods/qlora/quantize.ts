// QLoRA's frozen base: every linear weight of every layer (query_key_value, dense, dense_h_to_4h,
// dense_4h_to_h — the layers bitsandbytes' load_in_4bit replaces; not the embedding, output layer, norms
// or biases) swapped for a packed quantized copy that is dequantized on the fly, forward and backward.
import { QuantizedLinearWeight } from '../../compute/frozen-weight.ts';
import type { CausalLanguageModel } from '../../model/language-model.ts';
import { MethodConfigError } from '../errors.ts';

export interface QuantizationSettings {
  bits: 4 | 8;
  /** NF4 only: double quantisation of the absmax values. */
  doubleQuant: boolean;
}

/** Quantizes the model's linear weights in place (the float variables are freed) and returns the packed weights. */
export function quantizeLinearWeights(model: CausalLanguageModel, settings: QuantizationSettings): QuantizedLinearWeight[] {
  if (settings.bits === 8 && settings.doubleQuant) throw new MethodConfigError('double_quant applies to 4-bit (NF4) quantization only');
  return model.linearSites().map((site) => {
    const weight = model.parameters.get(`${site}.weight`);
    if (!weight) throw new MethodConfigError(`${site}: the weight is already quantized`);
    const shape = weight.shape as [number, number];
    const values = weight.dataSync() as Float32Array;
    const quantized = settings.bits === 4 ? QuantizedLinearWeight.nf4(values, shape, { doubleQuant: settings.doubleQuant }) : QuantizedLinearWeight.int8(values, shape);
    model.replaceLinearWeight(site, quantized);
    return quantized;
  });
}
